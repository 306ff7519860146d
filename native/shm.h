// Registration of the shared-memory primitives (shmCreate, shmOpen, shmClose, prefault, allocReusable) on the addon's exports.
#pragma once
#include <napi.h>

namespace darray {

void RegisterShm(Napi::Env env, Napi::Object exports);

}  // namespace darray
