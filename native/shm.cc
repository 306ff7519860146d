// Memory mechanisms, knowing nothing of ranks: an anonymous segment (memfd) that another process of the same user
// maps through /proc/<pid>/fd/<fd>, the mapping of such a file (both pre-faulted), pre-faulting a fresh array, and
// arrays whose memory is reused once they are collected.
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older headers lack it, older kernels refuse it (EINVAL)
#endif

#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include <napi.h>

#include "args.h"
#include "pages.h"
#include "shm.h"

namespace darray {
namespace {

struct Mapping {
  size_t bytes;
};

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// A typed-array-ready view of a mapping; the mapping ends when the buffer is collected. The GC hears of the
// bytes, so that dropped segments are collected as their size deserves, not as the few bytes of their handle.
Napi::ArrayBuffer Wrap(Napi::Env env, void* addr, size_t bytes) {
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  return Napi::ArrayBuffer::New(
      env, addr, bytes,
      [](Napi::Env env, void* data, Mapping* m) {
        munmap(data, m->bytes);
        Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(m->bytes));
        delete m;
      },
      new Mapping{bytes});
}

size_t Bytes(const Args& a, size_t i) {
  double v = a.Num(i);
  // mmap refuses an empty mapping.
  if (v < 1 || v > 1e15 || v != static_cast<double>(static_cast<int64_t>(v))) a.Fail("byte count must be a positive integer");
  return static_cast<size_t>(v);
}

// shmCreate(bytes) -> { fd, buffer }: a fresh zero-filled segment; the caller closes fd when no peer needs to
// open it any more (the memory lives on while any process maps it).
Napi::Value ShmCreate(const Napi::CallbackInfo& info) {
  Args a(info, "shmCreate");
  size_t bytes = Bytes(a, 0);
  int fd = memfd_create("darray-shm", MFD_CLOEXEC);
  if (fd < 0) a.Fail(Errno("memfd_create"));
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    std::string e = Errno("ftruncate");
    close(fd);
    a.Fail(e);
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) {
    std::string e = Errno("mmap");
    close(fd);
    a.Fail(e);
  }
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("fd", fd);
  o.Set("buffer", Wrap(info.Env(), p, bytes));
  return o;
}

// shmOpen(path, bytes) -> buffer: maps the first `bytes` of a file another process shares (a memfd seen through
// /proc/<pid>/fd/<fd>); fails if the file is shorter.
Napi::Value ShmOpen(const Napi::CallbackInfo& info) {
  Args a(info, "shmOpen");
  if (!info[0].IsString()) a.Fail("path must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  size_t bytes = Bytes(a, 1);
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) a.Fail(Errno("open " + path));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) < bytes) {
    close(fd);
    a.Fail(path + " is not a regular file of at least " + std::to_string(bytes) + " bytes");
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  std::string e = p == MAP_FAILED ? Errno("mmap " + path) : "";
  close(fd);  // the mapping keeps the memory
  if (p == MAP_FAILED) a.Fail(e);
  return Wrap(info.Env(), p, bytes);
}

// prefault(typedArray): faults in the pages of an array not yet touched, in one system call instead of one trap
// per 4 KiB page on first write (filling a fresh 64 MiB array costs 30 ms of such traps on a VM, 15 this way).
// Contents are kept. No huge pages: asking for them made the kernel compact memory for 250 ms at times.
Napi::Value Prefault(const Napi::CallbackInfo& info) {
  Args a(info, "prefault");
  if (!info[0].IsTypedArray()) a.Fail("argument 0 must be a typed array");
  PageSpan span = PagesOf(info[0].As<Napi::TypedArray>());
  uintptr_t begin = span.begin, end = span.end, page = span.page;
  uintptr_t pb = span.FirstPage();
  if (end > pb && madvise(reinterpret_cast<void*>(pb), end - pb, MADV_POPULATE_WRITE) != 0) {
    // Kernels before 5.14: touch each page, writing back what is there.
    for (uintptr_t p = begin; p < end; p = (p & ~(page - 1)) + page) {
      volatile uint8_t* b = reinterpret_cast<volatile uint8_t*>(p);
      *b = *b;
    }
  }
  return info.Env().Undefined();
}

// Anonymous mappings given back by collected arrays of allocReusable, by length, for the next array of that
// length: a reused mapping is already faulted in, where a fresh one costs its zero-fill and a fault per page.
std::mutex gFreeMutex;
std::multimap<size_t, void*> gFree;
size_t gFreeBytes = 0;
size_t gKeepBytes = 0;

void GiveBack(void* addr, size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(gFreeMutex);
    if (gFreeBytes + bytes <= gKeepBytes) {
      gFree.emplace(bytes, addr);
      gFreeBytes += bytes;
      return;
    }
  }
  munmap(addr, bytes);
}

// allocReusable(bytes, keepBytes) -> ArrayBuffer of `bytes` whose contents are unspecified (stale data of this
// process, or zeros): for a result the caller overwrites whole. Its pages are faulted in. When it is collected
// its mapping is kept for the next call of the same length, up to `keepBytes` kept in all (the latest call's).
Napi::Value AllocReusable(const Napi::CallbackInfo& info) {
  Args a(info, "allocReusable");
  size_t bytes = Bytes(a, 0);
  double keep = a.Num(1);
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t len = (bytes + page - 1) / page * page;
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(gFreeMutex);
    gKeepBytes = keep > 0 ? static_cast<size_t>(keep) : 0;
    auto it = gFree.find(len);
    if (it != gFree.end()) {
      p = it->second;
      gFree.erase(it);
      gFreeBytes -= len;
    }
  }
  if (!p) {
    p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) a.Fail(Errno("mmap"));
  }
  // V8 counts an external buffer's bytes towards its external-memory limit itself: reporting them here as
  // well ran a full collection per 32 MiB of results instead of per 64.
  return Napi::ArrayBuffer::New(
      info.Env(), p, bytes,
      [](Napi::Env, void* data, Mapping* m) {
        GiveBack(data, m->bytes);
        delete m;
      },
      new Mapping{len});
}

// shmClose(fd): closes a descriptor shmCreate returned.
Napi::Value ShmClose(const Napi::CallbackInfo& info) {
  Args a(info, "shmClose");
  close(a.Int(0));
  return info.Env().Undefined();
}

}  // namespace

void RegisterShm(Napi::Env env, Napi::Object exports) {
  exports.Set("shmCreate", Napi::Function::New(env, ShmCreate, "shmCreate"));
  exports.Set("shmOpen", Napi::Function::New(env, ShmOpen, "shmOpen"));
  exports.Set("shmClose", Napi::Function::New(env, ShmClose, "shmClose"));
  exports.Set("prefault", Napi::Function::New(env, Prefault, "prefault"));
  exports.Set("allocReusable", Napi::Function::New(env, AllocReusable, "allocReusable"));
}

}  // namespace darray
