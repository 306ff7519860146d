// The memory pages a typed array spans, for the calls that act on whole pages (prefault, discard).
#pragma once
#include <napi.h>
#include <unistd.h>

#include <cstdint>

#include "typed_data.h"

namespace darray {

struct PageSpan {
  uintptr_t begin;  // first byte of the array
  uintptr_t end;    // one past its last byte
  uintptr_t page;   // the page size
  uintptr_t FirstPage() const { return begin & ~(page - 1); }         // page holding the first byte
  uintptr_t FirstWholePage() const { return (begin + page - 1) & ~(page - 1); }
  uintptr_t EndOfWholePages() const { return end & ~(page - 1); }
};

inline PageSpan PagesOf(const Napi::TypedArray& ta) {
  uintptr_t begin = reinterpret_cast<uintptr_t>(DataOf(ta));
  return {begin, begin + ta.ByteLength(), static_cast<uintptr_t>(sysconf(_SC_PAGESIZE))};
}

}  // namespace darray
