// Reading kernel arguments from JS. TypeScript validates first with friendly messages; these checks are the
// last guard against writing outside a typed array, so the addon never corrupts memory on bad input.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

#include "typed_data.h"

namespace darray {

enum class Dtype { kF64, kF32 };

// A typed array operand: base pointer and length in elements.
struct Arr {
  Napi::Object obj;
  uint8_t* base = nullptr;
  size_t length = 0;
  Dtype dt = Dtype::kF64;
  size_t bytes() const { return length * (dt == Dtype::kF64 ? 8 : 4); }
};

// A row-major matrix operand (array, offset, ld) whose extent was checked.
struct Mat {
  Arr arr;
  size_t offset = 0;
  int ld = 1;
  template <class T>
  T* ptr() const { return reinterpret_cast<T*>(arr.base) + offset; }
};

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* op) : info_(info), op_(op) {}
  Napi::Env Env() const { return info_.Env(); }

  [[noreturn]] void Fail(const std::string& what) const {
    throw Napi::RangeError::New(Env(), std::string(op_) + ": " + what);
  }
  bool Bool(size_t i) const { return info_[i].ToBoolean().Value(); }
  double Num(size_t i) const {
    if (!info_[i].IsNumber()) Fail("argument " + std::to_string(i) + " must be a number");
    return info_[i].As<Napi::Number>().DoubleValue();
  }
  int Int(size_t i) const {
    double v = Num(i);
    if (v < 0 || v > 2147483647.0 || v != static_cast<double>(static_cast<int64_t>(v)))
      Fail("argument " + std::to_string(i) + " must be a non-negative 32-bit integer");
    return static_cast<int>(v);
  }
  Arr Array(size_t i) const {
    if (!info_[i].IsTypedArray()) Fail("argument " + std::to_string(i) + " must be a typed array");
    auto ta = info_[i].As<Napi::TypedArray>();
    Arr a;
    a.obj = ta;
    if (ta.TypedArrayType() == napi_float64_array) a.dt = Dtype::kF64;
    else if (ta.TypedArrayType() == napi_float32_array) a.dt = Dtype::kF32;
    else Fail("argument " + std::to_string(i) + " must be a Float64Array or Float32Array");
    a.base = DataOf(ta);
    a.length = ta.ElementLength();
    return a;
  }
  // Array at i holding at least n elements (the vector of a level-1 BLAS call of length n).
  Arr Vector(size_t i, int n) const {
    Arr v = Array(i);
    if (v.length < static_cast<size_t>(n)) Fail("n exceeds an array's length");
    return v;
  }
  Napi::Int32Array Int32(size_t i) const {
    if (!info_[i].IsTypedArray() || info_[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      Fail("argument " + std::to_string(i) + " must be an Int32Array");
    return info_[i].As<Napi::Int32Array>();
  }
  // Array at i, offset at i+1, ld at i+2, holding a rows x cols matrix.
  Mat Matrix(size_t i, int rows, int cols) const {
    Mat m;
    m.arr = Array(i);
    m.offset = static_cast<size_t>(Int(i + 1));
    m.ld = Int(i + 2);
    if (m.ld < (cols > 1 ? cols : 1)) Fail("ld " + std::to_string(m.ld) + " is smaller than the column count");
    if (rows > 0 && cols > 0) {
      size_t end = m.offset + static_cast<size_t>(rows - 1) * m.ld + cols;
      if (end > m.arr.length) Fail("matrix extends past the end of its array");
    }
    return m;
  }
  void SameDtype(std::initializer_list<Dtype> ds) const {
    for (Dtype d : ds)
      if (d != *ds.begin()) Fail("operands mix float64 and float32");
  }

 private:
  const Napi::CallbackInfo& info_;
  const char* op_;
};

}  // namespace darray
