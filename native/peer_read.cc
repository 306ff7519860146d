// addressOf(typedArray) and peerRead(pid, address, into): a large message between processes of one host copied once,
// straight from the sender's array into the receiver's (what Open MPI's shared-memory transport does with CMA),
// where a shared segment costs a second copy and memory that stays mapped. Mechanism only: the caller knows that
// the sender keeps the array alive and unchanged until the receiver says it has read it.
#include "peer_read.h"

#include <sys/uio.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "args.h"
#include "typed_data.h"

namespace darray {
namespace {

// The address of a typed array's first byte, as a number (user addresses fit in 53 bits on Linux).
Napi::Value AddressOf(const Napi::CallbackInfo& info) {
  Args a(info, "addressOf");
  if (!info[0].IsTypedArray()) a.Fail("argument 0 must be a typed array");
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(DataOf(info[0].As<Napi::TypedArray>()))));
}

// Copies into.byteLength bytes at `address` in process `pid` into `into`. Throws naming the system's reason
// (the process is gone, may not be read, or does not map the whole range).
Napi::Value PeerRead(const Napi::CallbackInfo& info) {
  Args a(info, "peerRead");
  int pid = a.Int(0);
  double addr = a.Num(1);
  if (!(addr > 0) || addr > 9007199254740991.0 || addr != static_cast<double>(static_cast<uint64_t>(addr))) {
    a.Fail("argument 1 must be an address");
  }
  if (!info[2].IsTypedArray()) a.Fail("argument 2 must be a typed array");
  auto into = info[2].As<Napi::TypedArray>();
  uint8_t* dst = DataOf(into);
  size_t bytes = into.ByteLength(), done = 0;
  uintptr_t src = static_cast<uintptr_t>(addr);
  // The kernel may copy less than asked (it stops at a page it cannot read, or early for large requests).
  while (done < bytes) {
    struct iovec local = {dst + done, bytes - done};
    struct iovec remote = {reinterpret_cast<void*>(src + done), bytes - done};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      a.Fail("reading " + std::to_string(bytes) + " bytes of process " + std::to_string(pid) + ": " +
             (n < 0 ? std::strerror(errno) : "nothing copied"));
    }
    done += static_cast<size_t>(n);
  }
  return info.Env().Undefined();
}

}  // namespace

void RegisterPeerRead(Napi::Env env, Napi::Object exports) {
  exports.Set("addressOf", Napi::Function::New(env, AddressOf, "addressOf"));
  exports.Set("peerRead", Napi::Function::New(env, PeerRead, "peerRead"));
}

}  // namespace darray
