// Registration of the tile-kernel entry points (gemm, gemmSync, clGemm, ...) on the addon's exports.
#pragma once
#include <napi.h>

namespace darray {

// kCpu: async on the host; kSync: on the calling thread (benchmark reference); kDevice: async on OpenCL.
enum class Mode { kCpu, kSync, kDevice };

void RegisterKernels(Napi::Env env, Napi::Object exports);

}  // namespace darray
