// copy2d(dst, dOff, dRow, src, sOff, sRow, sCol, rows, cols): dst[dOff + i dRow + j] = src[sOff + i sRow + j sCol]
// for i < rows, j < cols, on typed arrays of one type. The data movement of DArrays (redistribute, transpose,
// slices, gathers) copies such 2-D blocks between tiles and message buffers; a block that is a transpose reads
// one array across its rows, which one element at a time from JS runs at under 1 GB/s. Here it goes in cache-sized
// squares, and rows that are contiguous on both sides go by memcpy.
#include "strided.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "args.h"
#include "typed_data.h"

namespace darray {
namespace {

// Squares of kBlock x kBlock elements: the kBlock rows read and the kBlock rows written within one stay in L1
// (rows of a power-of-two width fall into few cache sets, so larger squares thrash), each read line used whole.
constexpr int64_t kBlock = 8;

template <class T>
void Blocked(T* d, int64_t dRow, const T* s, int64_t sRow, int64_t sCol, int64_t rows, int64_t cols) {
  for (int64_t i0 = 0; i0 < rows; i0 += kBlock) {
    const int64_t i1 = i0 + kBlock < rows ? i0 + kBlock : rows;
    for (int64_t j0 = 0; j0 < cols; j0 += kBlock) {
      const int64_t j1 = j0 + kBlock < cols ? j0 + kBlock : cols;
      for (int64_t i = i0; i < i1; ++i) {
        const T* si = s + i * sRow;
        T* di = d + i * dRow;
        for (int64_t j = j0; j < j1; ++j) di[j] = si[j * sCol];
      }
    }
  }
}

template <class T>
void Copy(uint8_t* dst, int64_t dRow, const uint8_t* src, int64_t sRow, int64_t sCol, int64_t rows, int64_t cols) {
  T* d = reinterpret_cast<T*>(dst);
  const T* s = reinterpret_cast<const T*>(src);
  if (sCol == 1) {
    for (int64_t i = 0; i < rows; ++i) std::memcpy(d + i * dRow, s + i * sRow, static_cast<size_t>(cols) * sizeof(T));
    return;
  }
  Blocked(d, dRow, s, sRow, sCol, rows, cols);
}

// Index of the last element a block touches; the caller checked rows, cols >= 1 and non-negative steps.
int64_t Last(int64_t off, int64_t row, int64_t col, int64_t rows, int64_t cols) {
  return off + (rows - 1) * row + (cols - 1) * col;
}

Napi::Value Copy2d(const Napi::CallbackInfo& info) {
  Args a(info, "copy2d");
  if (!info[0].IsTypedArray() || !info[3].IsTypedArray()) a.Fail("arguments 0 and 3 must be typed arrays");
  auto dt = info[0].As<Napi::TypedArray>(), st = info[3].As<Napi::TypedArray>();
  if (dt.TypedArrayType() != st.TypedArrayType()) a.Fail("dst and src must be typed arrays of one type");
  const int64_t dOff = a.Int(1), dRow = a.Int(2), sOff = a.Int(4), sRow = a.Int(5), sCol = a.Int(6);
  const int64_t rows = a.Int(7), cols = a.Int(8);
  if (rows == 0 || cols == 0) return info.Env().Undefined();
  // The last guard against writing or reading outside an array: every index the block touches is in range.
  if (Last(dOff, dRow, 1, rows, cols) >= static_cast<int64_t>(dt.ElementLength()))
    a.Fail("block reaches past the end of dst");
  if (Last(sOff, sRow, sCol, rows, cols) >= static_cast<int64_t>(st.ElementLength()))
    a.Fail("block reaches past the end of src");
  const size_t size = dt.ElementSize();
  uint8_t* d = DataOf(dt) + dOff * size;
  const uint8_t* s = DataOf(st) + sOff * size;
  switch (size) {
    case 1: Copy<uint8_t>(d, dRow, s, sRow, sCol, rows, cols); break;
    case 2: Copy<uint16_t>(d, dRow, s, sRow, sCol, rows, cols); break;
    case 4: Copy<uint32_t>(d, dRow, s, sRow, sCol, rows, cols); break;
    case 8: Copy<uint64_t>(d, dRow, s, sRow, sCol, rows, cols); break;
    default: a.Fail("unsupported element size " + std::to_string(size));
  }
  return info.Env().Undefined();
}

}  // namespace

void RegisterStrided(Napi::Env env, Napi::Object exports) {
  exports.Set("copy2d", Napi::Function::New(env, Copy2d, "copy2d"));
}

}  // namespace darray
