// Registration of the CPU affinity controls (cpusAllowed, bindThreads) on the addon's exports.
#pragma once
#include <napi.h>

namespace darray {

void RegisterAffinity(Napi::Env env, Napi::Object exports);

}  // namespace darray
