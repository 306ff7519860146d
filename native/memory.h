// Host memory controls: giving dead arrays' pages back, keeping freed memory for new arrays (see memory.cc).
#pragma once
#include <napi.h>

namespace darray {

void RegisterMemory(Napi::Env env, Napi::Object exports);

}  // namespace darray
