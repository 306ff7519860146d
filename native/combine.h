// Registration of `combine`, the elementwise reduction of two typed arrays behind the large collectives.
#pragma once
#include <napi.h>

namespace darray {

void RegisterCombine(Napi::Env env, Napi::Object exports);

}  // namespace darray
