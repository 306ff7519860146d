// Process-wide OpenCL state shared by the tile cache and the CLBlast calls (internal to native/opencl).
#pragma once
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <mutex>
#include <string>

#include "opencl/device.h"

namespace darray::ocl {

struct Context {
  cl_device_id device = nullptr;
  cl_context context = nullptr;
  cl_command_queue queue = nullptr;
  DeviceInfo info;
  std::string spec;
};

// The lock every device operation holds, and the state it guards.
std::mutex& Lock();
Context& Ctx();
std::string ClError(const char* what, cl_int err);

}  // namespace darray::ocl
