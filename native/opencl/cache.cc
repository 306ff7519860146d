// The device tile cache: upload on first use, LRU eviction with write-back, explicit sync and release.
#include "opencl/cache.h"

#include <unordered_map>

namespace darray::ocl {
namespace {

struct Entry {
  cl_mem mem = nullptr;
  size_t bytes = 0;
  bool dirty = false;
  uint64_t lastOp = 0;
};

std::unordered_map<void*, Entry>& Map() {
  static std::unordered_map<void*, Entry> m;
  return m;
}
uint64_t g_op = 0;
uint64_t g_bytes = 0;

Status ReadHome(void* host, Entry& e) {
  if (!e.dirty) return Status::Ok();
  cl_int err = clEnqueueReadBuffer(Ctx().queue, e.mem, CL_TRUE, 0, e.bytes, host, 0, nullptr, nullptr);
  if (err != CL_SUCCESS) return Status::Backend(ClError("clEnqueueReadBuffer (write-back)", err));
  e.dirty = false;
  return Status::Ok();
}

void Forget(std::unordered_map<void*, Entry>::iterator it) {
  clReleaseMemObject(it->second.mem);
  g_bytes -= it->second.bytes;
  Map().erase(it);
}

Status MakeRoom(size_t need) {
  const uint64_t budget = Ctx().info.cacheBudget;
  while (g_bytes + need > budget) {
    auto victim = Map().end();
    for (auto it = Map().begin(); it != Map().end(); ++it)
      if (it->second.lastOp != g_op && (victim == Map().end() || it->second.lastOp < victim->second.lastOp))
        victim = it;
    if (victim == Map().end()) break;  // everything left belongs to this operation: try the allocation anyway
    Status s = ReadHome(victim->first, victim->second);
    if (!s.ok()) return s;
    Forget(victim);
  }
  return Status::Ok();
}

}  // namespace

void BeginOp() { ++g_op; }

Status Acquire(const Tile& t, cl_mem* out) {
  auto& m = Map();
  auto it = m.find(t.host);
  if (it != m.end() && it->second.bytes != t.bytes) {
    // The same address seen with another length (a different view): the old copy cannot serve it.
    Status s = ReadHome(it->first, it->second);
    if (!s.ok()) return s;
    Forget(it);
    it = m.end();
  }
  if (it != m.end()) {
    it->second.lastOp = g_op;
    *out = it->second.mem;
    return Status::Ok();
  }
  Status s = MakeRoom(t.bytes);
  if (!s.ok()) return s;
  cl_int err = CL_SUCCESS;
  cl_mem mem = clCreateBuffer(Ctx().context, CL_MEM_READ_WRITE, t.bytes ? t.bytes : 1, nullptr, &err);
  if (err != CL_SUCCESS) return Status::Backend(ClError("clCreateBuffer", err));
  if (t.bytes) {
    err = clEnqueueWriteBuffer(Ctx().queue, mem, CL_TRUE, 0, t.bytes, t.host, 0, nullptr, nullptr);
    if (err != CL_SUCCESS) {
      clReleaseMemObject(mem);
      return Status::Backend(ClError("clEnqueueWriteBuffer (upload)", err));
    }
  }
  m[t.host] = Entry{mem, t.bytes, false, g_op};
  g_bytes += t.bytes;
  *out = mem;
  return Status::Ok();
}

void MarkDirty(const Tile& t) {
  auto it = Map().find(t.host);
  if (it != Map().end()) it->second.dirty = true;
}

Status WriteBack(void* host) {
  auto it = Map().find(host);
  return it == Map().end() ? Status::Ok() : ReadHome(host, it->second);
}

void Drop(void* host) {
  auto it = Map().find(host);
  if (it != Map().end()) Forget(it);
}

std::vector<void*> CachedHosts() {
  std::vector<void*> out;
  for (const auto& kv : Map()) out.push_back(kv.first);
  return out;
}

void CacheStats(uint64_t* bytes, uint64_t* tiles) {
  std::lock_guard<std::mutex> g(Lock());
  *bytes = g_bytes;
  *tiles = Map().size();
}

Status HostTakes(Tile t) {
  std::lock_guard<std::mutex> g(Lock());
  if (!Ctx().queue) return Status::Ok();
  Status s = WriteBack(t.host);
  if (s.ok()) Drop(t.host);
  return s;
}

Status Sync(const std::vector<void*>& hosts) {
  std::lock_guard<std::mutex> g(Lock());
  if (!Ctx().queue) return Status::Ok();
  for (void* h : hosts.empty() ? CachedHosts() : hosts) {
    Status s = WriteBack(h);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

void Release(const std::vector<void*>& hosts) {
  std::lock_guard<std::mutex> g(Lock());
  for (void* h : hosts.empty() ? CachedHosts() : hosts) Drop(h);
}

}  // namespace darray::ocl
