// combine(op, out, a, b): out[i] = a[i] op b[i] for the built-in reduce ops, with exactly the results JavaScript's
// typed-array arithmetic gives (src/comm/reduce-ops.ts is the reference), at memory speed rather than a JS loop's.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include <napi.h>

#include "args.h"
#include "combine.h"
#include "typed_data.h"

namespace darray {
namespace {

enum Op { kSum = 0, kProd = 1, kMin = 2, kMax = 3 };

// Math.min / Math.max: NaN if either operand is NaN, and -0 below +0.
template <class T>
inline T FMin(T x, T y) {
  if (x != x || y != y) return NAN;
  if (x == y) return std::signbit(x) ? x : y;
  return x < y ? x : y;
}
template <class T>
inline T FMax(T x, T y) {
  if (x != x || y != y) return NAN;
  if (x == y) return std::signbit(x) ? y : x;
  return x > y ? x : y;
}

template <class T, class F>
void Loop(T* o, const T* x, const T* y, size_t n, F f) {
  for (size_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
}

// Floats: a float32 sum or product rounded once equals JS's double result rounded to float32 (double has more
// than twice float's precision), so plain float arithmetic gives the same bits.
template <class T>
bool Float(int op, T* o, const T* x, const T* y, size_t n) {
  switch (op) {
    case kSum: Loop(o, x, y, n, [](T a, T b) { return a + b; }); return true;
    case kProd: Loop(o, x, y, n, [](T a, T b) { return a * b; }); return true;
    case kMin: Loop(o, x, y, n, FMin<T>); return true;
    case kMax: Loop(o, x, y, n, FMax<T>); return true;
  }
  return false;
}

// Integers store modulo 2^bits, as a typed array does. JS multiplies in doubles: exact below 2^53, so 32-bit
// products (which may not be) are left to JS. 64-bit (BigInt) arithmetic is exact and wraps the same way.
template <class T>
bool Int(int op, T* o, const T* x, const T* y, size_t n) {
  using U = std::make_unsigned_t<T>;
  switch (op) {
    case kSum: Loop(o, x, y, n, [](T a, T b) { return static_cast<T>(static_cast<U>(a) + static_cast<U>(b)); }); return true;
    case kProd:
      if (sizeof(T) == 4) return false;
      Loop(o, x, y, n, [](T a, T b) { return static_cast<T>(static_cast<U>(a) * static_cast<U>(b)); });
      return true;
    case kMin: Loop(o, x, y, n, [](T a, T b) { return a < b ? a : b; }); return true;
    case kMax: Loop(o, x, y, n, [](T a, T b) { return a > b ? a : b; }); return true;
  }
  return false;
}

// Uint8ClampedArray clamps the exact sum or product to 0..255.
bool Clamped(int op, uint8_t* o, const uint8_t* x, const uint8_t* y, size_t n) {
  auto clamp = [](unsigned v) { return static_cast<uint8_t>(v > 255 ? 255 : v); };
  switch (op) {
    case kSum: Loop(o, x, y, n, [&](uint8_t a, uint8_t b) { return clamp(unsigned(a) + b); }); return true;
    case kProd: Loop(o, x, y, n, [&](uint8_t a, uint8_t b) { return clamp(unsigned(a) * b); }); return true;
    default: return Int<uint8_t>(op, o, x, y, n);
  }
}

// combine(op, out, a, b) -> boolean: false when this op/type is left to JS. Arrays of one type and length.
Napi::Value Combine(const Napi::CallbackInfo& info) {
  Args args(info, "combine");
  int op = args.Int(0);
  for (size_t i = 1; i <= 3; ++i)
    if (!info[i].IsTypedArray()) args.Fail("argument " + std::to_string(i) + " must be a typed array");
  auto to = info[1].As<Napi::TypedArray>(), ta = info[2].As<Napi::TypedArray>(), tb = info[3].As<Napi::TypedArray>();
  napi_typedarray_type t = to.TypedArrayType();
  size_t n = to.ElementLength();
  if (ta.TypedArrayType() != t || tb.TypedArrayType() != t || ta.ElementLength() != n || tb.ElementLength() != n)
    args.Fail("operands must have one type and length");
  uint8_t *o = DataOf(to), *x = DataOf(ta), *y = DataOf(tb);
#define DARRAY_CASE(NT, T, F) \
  case NT: return Napi::Boolean::New(info.Env(), F<T>(op, reinterpret_cast<T*>(o), reinterpret_cast<T*>(x), reinterpret_cast<T*>(y), n));
  switch (t) {
    DARRAY_CASE(napi_float64_array, double, Float)
    DARRAY_CASE(napi_float32_array, float, Float)
    DARRAY_CASE(napi_int8_array, int8_t, Int)
    DARRAY_CASE(napi_uint8_array, uint8_t, Int)
    DARRAY_CASE(napi_int16_array, int16_t, Int)
    DARRAY_CASE(napi_uint16_array, uint16_t, Int)
    DARRAY_CASE(napi_int32_array, int32_t, Int)
    DARRAY_CASE(napi_uint32_array, uint32_t, Int)
    DARRAY_CASE(napi_bigint64_array, int64_t, Int)
    DARRAY_CASE(napi_biguint64_array, uint64_t, Int)
    case napi_uint8_clamped_array: return Napi::Boolean::New(info.Env(), Clamped(op, o, x, y, n));
    default: return Napi::Boolean::New(info.Env(), false);
  }
#undef DARRAY_CASE
}

}  // namespace

void RegisterCombine(Napi::Env env, Napi::Object exports) {
  exports.Set("combine", Napi::Function::New(env, Combine, "combine"));
}

}  // namespace darray
