// AsyncWorker that runs one tile kernel on the libuv pool and settles a Promise. It holds references to the
// typed arrays it reads and writes, so they cannot be collected while the kernel runs.
#pragma once
#include <napi.h>
#include <pthread.h>
#include <sched.h>

#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "status.h"

namespace darray {

// Turns a failed Status into a JS Error carrying `code` and `column` for src/kernels to map.
inline Napi::Error StatusError(Napi::Env env, const std::string& op, const Status& s) {
  Napi::Error err = Napi::Error::New(env, op + ": " + s.message);
  err.Set("code", Napi::String::New(env, CodeName(s.code)));
  err.Set("column", Napi::Number::New(env, s.column));
  err.Set("op", Napi::String::New(env, op));
  return err;
}

// Marks the calling pool thread SCHED_BATCH (Linux), once: a batch thread never preempts the thread that woke
// it. Without this, queuing a kernel handed the core to the kernel at once and the JS thread that queued it (which
// schedules the next kernels and moves the messages) waited a time slice. Its share of the CPU is unchanged.
inline void RunAsBatch() {
#ifdef SCHED_BATCH
  static thread_local bool done = false;
  if (done) return;
  done = true;
  sched_param none{};
  pthread_setschedparam(pthread_self(), SCHED_BATCH, &none);
#endif
}

class KernelWorker : public Napi::AsyncWorker {
 public:
  KernelWorker(Napi::Env env, std::string op, std::function<Status()> fn)
      : Napi::AsyncWorker(env, "darray:kernel"), op_(std::move(op)), fn_(std::move(fn)),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  void Keep(const Napi::Object& o) { refs_.push_back(Napi::Persistent(o)); }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    RunAsBatch();
    try {
      status_ = fn_();
    } catch (const std::exception& e) {
      status_ = Status::Internal(e.what());
    }
  }
  void OnOK() override {
    if (status_.ok()) {
      deferred_.Resolve(Env().Undefined());
    } else {
      deferred_.Reject(StatusError(Env(), op_, status_).Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::string op_;
  std::function<Status()> fn_;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
  Status status_;
};

// Runs fn now on the JS thread (sync entries, used as the benchmark's reference) or queues it on a worker.
inline Napi::Value Launch(Napi::Env env, bool sync, const std::string& op, std::function<Status()> fn,
                          const std::vector<Napi::Object>& keep) {
  if (sync) {
    Status s = fn();
    if (!s.ok()) throw StatusError(env, op, s);
    return env.Undefined();
  }
  auto* w = new KernelWorker(env, op, std::move(fn));
  for (const auto& o : keep) w->Keep(o);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace darray
