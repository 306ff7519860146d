// Module entry of darray_native.node: registers the tile kernels, the collectives' combine, DArray's strided
// block copy, shared memory, CPU affinity and the controls TypeScript uses for policy (BLAS threads, OpenCL
// device, tile cache). Stateless but the OpenCL device.
#include <napi.h>

#include <stdexcept>

#include "affinity.h"
#include "args.h"
#include "combine.h"
#include "cpu/blas.h"
#include "kernels.h"
#include "memory.h"
#include "opencl/device.h"
#include "peer_read.h"
#include "shm.h"
#include "strided.h"
#include "typed_data.h"
#include "worker.h"

namespace darray {
namespace {

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a(info, "setThreads");
  int n = a.Int(0);
  if (n < 1) a.Fail("thread count must be at least 1");
  cpu::SetThreads(n);
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), cpu::GetThreads()); }

Napi::Value ClDevices(const Napi::CallbackInfo& info) {
  auto list = ocl::ListDevices();
  Napi::Array out = Napi::Array::New(info.Env(), list.size());
  for (size_t i = 0; i < list.size(); ++i) out.Set(static_cast<uint32_t>(i), list[i]);
  return out;
}

// clInit(spec, cacheBudgetBytes) -> { platform, name, gpu, fp64, globalMem, cacheBudget }
Napi::Value ClInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string spec = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  double budget = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
  ocl::DeviceInfo d;
  try {
    d = ocl::Init(spec, static_cast<uint64_t>(budget));
  } catch (const std::exception& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("code", "BACKEND");
    throw err;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("platform", d.platform);
  o.Set("name", d.name);
  o.Set("gpu", d.gpu);
  o.Set("fp64", d.fp64);
  o.Set("globalMem", static_cast<double>(d.globalMem));
  o.Set("cacheBudget", static_cast<double>(d.cacheBudget));
  return o;
}

std::vector<void*> Hosts(const Napi::CallbackInfo& info, const char* op, std::vector<Napi::Object>* keep) {
  Args a(info, op);
  std::vector<void*> hosts;
  if (!info[0].IsArray()) return hosts;
  Napi::Array arr = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    if (!v.IsTypedArray()) a.Fail("every entry must be a typed array");
    auto ta = v.As<Napi::TypedArray>();
    hosts.push_back(DataOf(ta));
    if (keep) keep->push_back(ta);
  }
  return hosts;
}

// clSync([arrays]) -> Promise: dirty device copies written back (all when the list is empty).
Napi::Value ClSync(const Napi::CallbackInfo& info) {
  std::vector<Napi::Object> keep;
  auto hosts = Hosts(info, "sync", &keep);
  return Launch(info.Env(), false, "sync", [hosts]() { return ocl::Sync(hosts); }, keep);
}

// clRelease([arrays]): device copies dropped without write-back (all when the list is empty).
Napi::Value ClRelease(const Napi::CallbackInfo& info) {
  ocl::Release(Hosts(info, "release", nullptr));
  return info.Env().Undefined();
}

Napi::Value ClCacheStats(const Napi::CallbackInfo& info) {
  uint64_t bytes = 0, tiles = 0;
  ocl::CacheStats(&bytes, &tiles);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("bytes", static_cast<double>(bytes));
  o.Set("tiles", static_cast<double>(tiles));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterKernels(env, exports);
  RegisterMemory(env, exports);
  RegisterShm(env, exports);
  RegisterPeerRead(env, exports);
  RegisterCombine(env, exports);
  RegisterStrided(env, exports);
  RegisterAffinity(env, exports);
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads, "getThreads"));
  exports.Set("clDevices", Napi::Function::New(env, ClDevices, "clDevices"));
  exports.Set("clInit", Napi::Function::New(env, ClInit, "clInit"));
  exports.Set("clSync", Napi::Function::New(env, ClSync, "clSync"));
  exports.Set("clRelease", Napi::Function::New(env, ClRelease, "clRelease"));
  exports.Set("clCacheStats", Napi::Function::New(env, ClCacheStats, "clCacheStats"));
  return exports;
}

}  // namespace
}  // namespace darray

static Napi::Object InitDarrayNative(Napi::Env env, Napi::Object exports) { return darray::Init(env, exports); }

NODE_API_MODULE(darray_native, InitDarrayNative)
