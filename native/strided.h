// Registration of `copy2d`, the strided block copy behind DArray data movement (see strided.cc).
#pragma once
#include <napi.h>

namespace darray {

void RegisterStrided(Napi::Env env, Napi::Object exports);

}  // namespace darray
