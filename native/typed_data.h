// Where a typed array's first element lies, for arrays over an ArrayBuffer and a SharedArrayBuffer alike
// (node-addon-api's TypedArray::ArrayBuffer() refuses a SharedArrayBuffer).
#pragma once
#include <napi.h>

#include <cstdint>

namespace darray {

inline uint8_t* DataOf(const Napi::TypedArray& ta) {
  void* data = nullptr;
  napi_status s = napi_get_typedarray_info(ta.Env(), ta, nullptr, nullptr, &data, nullptr, nullptr);
  NAPI_THROW_IF_FAILED(ta.Env(), s, nullptr);
  return static_cast<uint8_t*>(data);  // already past the array's byte offset
}

}  // namespace darray
