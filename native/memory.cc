// Host memory controls, knowing nothing of arrays' roles. discard(typedArray) gives the whole pages inside a dead
// array back to the OS now, instead of when V8 collects the array: received message buffers and tile copies die
// in bursts, and V8 collects them only after tens of MiB of such garbage, so discarding bounds a rank's resident
// memory by what it really holds. Afterwards the pages read as zero and fault in afresh when written; nothing
// else changes, so a later free of the memory is unaffected. keepFreed is the other side: memory that V8 does
// free stays with the process for the next arrays (until trimFreed).
#include "memory.h"

#include <sys/mman.h>

#include <climits>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "args.h"
#include "pages.h"

namespace darray {
namespace {

Napi::Value Discard(const Napi::CallbackInfo& info) {
  Args a(info, "discard");
  if (!info[0].IsTypedArray()) a.Fail("argument 0 must be a typed array");
  PageSpan span = PagesOf(info[0].As<Napi::TypedArray>());
  // Only pages wholly inside the array: a partial page may hold the allocator's bookkeeping or other data.
  uintptr_t first = span.FirstWholePage(), last = span.EndOfWholePages();
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  return info.Env().Undefined();
}

// keepFreed(bytes): the C library keeps up to `bytes` of freed heap memory for the next allocations instead of
// giving it back to the OS, and serves blocks up to 32 MiB (glibc's largest such threshold) from that heap. By
// default glibc unmaps a freed block it had mapped on its own and trims the heap's free top, so each new array of
// tile size faults its pages in again. Setting the thresholds also ends glibc's adjusting of them. True when
// applied (glibc), false elsewhere.
Napi::Value KeepFreed(const Napi::CallbackInfo& info) {
  Args a(info, "keepFreed");
  double bytes = a.Num(0);
  if (!(bytes >= 0)) a.Fail("bytes must be a non-negative number");
#ifdef __GLIBC__
  int trim = bytes >= INT_MAX ? INT_MAX : static_cast<int>(bytes);
  bool ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, trim) == 1;
  return Napi::Boolean::New(info.Env(), ok);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// trimFreed(): gives the free memory that the C library keeps back to the OS now (glibc's malloc_trim). True when
// something went back.
Napi::Value TrimFreed(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

}  // namespace

void RegisterMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("discard", Napi::Function::New(env, Discard, "discard"));
  exports.Set("keepFreed", Napi::Function::New(env, KeepFreed, "keepFreed"));
  exports.Set("trimFreed", Napi::Function::New(env, TrimFreed, "trimFreed"));
}

}  // namespace darray
