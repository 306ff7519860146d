// Host memory controls for arrays the caller knows are dead (see memory.cc).
#pragma once
#include <napi.h>

namespace darray {

void RegisterMemory(Napi::Env env, Napi::Object exports);

}  // namespace darray
