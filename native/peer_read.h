// Reading another process's memory directly (process_vm_readv, Linux "cross memory attach"): see peer_read.cc.
#pragma once
#include <napi.h>

namespace darray {

void RegisterPeerRead(Napi::Env env, Napi::Object exports);

}  // namespace darray
