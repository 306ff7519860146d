// CPU affinity of this process, knowing nothing of ranks: the CPUs it may run on, and binding every one of its
// threads to a given set (Linux keeps affinity per thread; threads started later inherit their creator's).
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <napi.h>

#include "affinity.h"

namespace darray {
namespace {

// The CPUs the calling thread may run on, ascending.
Napi::Value CpusAllowed(const Napi::CallbackInfo& info) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) {
    throw Napi::Error::New(info.Env(), std::string("sched_getaffinity: ") + std::strerror(errno));
  }
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  Napi::Array out = Napi::Array::New(info.Env(), cpus.size());
  for (size_t i = 0; i < cpus.size(); i++) out.Set(static_cast<uint32_t>(i), cpus[i]);
  return out;
}

// Binds every thread of this process to the CPUs in the array argument; returns how many threads it bound.
// A thread that exits meanwhile is skipped; any other refusal (a CPU outside the allowed set) throws.
Napi::Value BindThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    throw Napi::TypeError::New(env, "bindThreads: argument 0 must be an array of CPU ids");
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsNumber()) throw Napi::TypeError::New(env, "bindThreads: CPU ids must be numbers");
    int c = v.As<Napi::Number>().Int32Value();
    if (c < 0 || c >= CPU_SETSIZE) {
      throw Napi::RangeError::New(env, "bindThreads: CPU id " + std::to_string(c) + " out of range");
    }
    CPU_SET(c, &set);
  }
  if (CPU_COUNT(&set) == 0) throw Napi::RangeError::New(env, "bindThreads: no CPU given");
  DIR* dir = opendir("/proc/self/task");
  if (!dir) throw Napi::Error::New(env, std::string("bindThreads: /proc/self/task: ") + std::strerror(errno));
  int bound = 0;
  std::string failure;
  while (struct dirent* e = readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    pid_t tid = static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10));
    if (sched_setaffinity(tid, sizeof set, &set) == 0) {
      bound++;
    } else if (errno != ESRCH) {
      failure = std::string("sched_setaffinity(") + e->d_name + "): " + std::strerror(errno);
      break;
    }
  }
  closedir(dir);
  if (!failure.empty()) throw Napi::Error::New(env, "bindThreads: " + failure);
  return Napi::Number::New(env, bound);
}

}  // namespace

void RegisterAffinity(Napi::Env env, Napi::Object exports) {
  exports.Set("cpusAllowed", Napi::Function::New(env, CpusAllowed, "cpusAllowed"));
  exports.Set("bindThreads", Napi::Function::New(env, BindThreads, "bindThreads"));
}

}  // namespace darray
