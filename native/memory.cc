// discard(typedArray): gives the whole pages inside a dead array back to the OS now, instead of when V8 collects
// the array. Received message buffers and tile copies die in bursts, and V8 collects them only after tens of MiB
// of such garbage: discarding bounds a rank's resident memory by what it really holds. Afterwards the pages read
// as zero and fault in afresh when written; nothing else changes, so a later free of the memory is unaffected.
#include "memory.h"

#include <sys/mman.h>

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

}  // namespace

void RegisterMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("discard", Napi::Function::New(env, Discard, "discard"));
}

}  // namespace darray
