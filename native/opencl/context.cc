// Device discovery and selection, context and queue creation for the OpenCL backend.
#include "opencl/context.h"

#include <stdexcept>
#include <vector>

namespace darray::ocl {
namespace {

struct Candidate {
  cl_platform_id platform;
  cl_device_id device;
  cl_device_type type;
};

std::string DevString(cl_device_id d, cl_device_info what) {
  size_t n = 0;
  clGetDeviceInfo(d, what, 0, nullptr, &n);
  std::string s(n, '\0');
  clGetDeviceInfo(d, what, n, s.data(), nullptr);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

std::string PlatString(cl_platform_id p, cl_platform_info what) {
  size_t n = 0;
  clGetPlatformInfo(p, what, 0, nullptr, &n);
  std::string s(n, '\0');
  clGetPlatformInfo(p, what, n, s.data(), nullptr);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

std::vector<Candidate> AllDevices() {
  std::vector<Candidate> out;
  cl_uint np = 0;
  if (clGetPlatformIDs(0, nullptr, &np) != CL_SUCCESS || np == 0) return out;
  std::vector<cl_platform_id> ps(np);
  clGetPlatformIDs(np, ps.data(), nullptr);
  for (auto p : ps) {
    cl_uint nd = 0;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &nd) != CL_SUCCESS || nd == 0) continue;
    std::vector<cl_device_id> ds(nd);
    clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, nd, ds.data(), nullptr);
    for (auto d : ds) {
      cl_device_type t = 0;
      clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof(t), &t, nullptr);
      out.push_back({p, d, t});
    }
  }
  return out;
}

const Candidate* Pick(const std::vector<Candidate>& all, const std::string& spec) {
  auto first = [&](cl_device_type t) -> const Candidate* {
    for (const auto& c : all)
      if (c.type & t) return &c;
    return nullptr;
  };
  if (spec.empty()) {
    const Candidate* g = first(CL_DEVICE_TYPE_GPU);
    return g ? g : (all.empty() ? nullptr : &all[0]);
  }
  if (spec == "gpu") return first(CL_DEVICE_TYPE_GPU);
  if (spec == "cpu") return first(CL_DEVICE_TYPE_CPU);
  size_t pos = 0;
  unsigned long idx = std::stoul(spec, &pos);
  if (pos != spec.size()) throw std::runtime_error("DARRAY_OPENCL_DEVICE must be gpu, cpu or an index, got '" + spec + "'");
  return idx < all.size() ? &all[idx] : nullptr;
}

}  // namespace

std::mutex& Lock() {
  static std::mutex m;
  return m;
}

Context& Ctx() {
  static Context c;
  return c;
}

std::string ClError(const char* what, cl_int err) { return std::string(what) + " failed with OpenCL error " + std::to_string(err); }

std::vector<std::string> ListDevices() {
  std::vector<std::string> out;
  for (const auto& c : AllDevices())
    out.push_back(PlatString(c.platform, CL_PLATFORM_NAME) + ": " + DevString(c.device, CL_DEVICE_NAME) +
                  ((c.type & CL_DEVICE_TYPE_GPU) ? " (gpu)" : (c.type & CL_DEVICE_TYPE_CPU) ? " (cpu)" : ""));
  return out;
}

bool Ready() {
  std::lock_guard<std::mutex> g(Lock());
  return Ctx().queue != nullptr;
}

DeviceInfo Init(const std::string& spec, uint64_t cacheBudgetBytes) {
  std::lock_guard<std::mutex> g(Lock());
  Context& c = Ctx();
  if (c.queue) {
    if (c.spec != spec) throw std::runtime_error("OpenCL device already opened with DARRAY_OPENCL_DEVICE='" + c.spec + "'");
    return c.info;
  }
  auto all = AllDevices();
  if (all.empty()) throw std::runtime_error("no OpenCL platform or device found (is an ICD such as pocl-opencl-icd installed?)");
  const Candidate* pick = Pick(all, spec);
  if (!pick) throw std::runtime_error("no OpenCL device matches DARRAY_OPENCL_DEVICE='" + spec + "' (" + std::to_string(all.size()) + " devices present)");
  cl_int err = CL_SUCCESS;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(pick->platform), 0};
  cl_context ctx = clCreateContext(props, 1, &pick->device, nullptr, nullptr, &err);
  if (err != CL_SUCCESS) throw std::runtime_error(ClError("clCreateContext", err));
  cl_command_queue q = clCreateCommandQueue(ctx, pick->device, 0, &err);
  if (err != CL_SUCCESS) {
    clReleaseContext(ctx);
    throw std::runtime_error(ClError("clCreateCommandQueue", err));
  }
  c.device = pick->device;
  c.context = ctx;
  c.queue = q;
  c.spec = spec;
  c.info.platform = PlatString(pick->platform, CL_PLATFORM_NAME);
  c.info.name = DevString(pick->device, CL_DEVICE_NAME);
  c.info.gpu = (pick->type & CL_DEVICE_TYPE_GPU) != 0;
  cl_device_fp_config fp = 0;
  clGetDeviceInfo(pick->device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof(fp), &fp, nullptr);
  c.info.fp64 = fp != 0 || DevString(pick->device, CL_DEVICE_EXTENSIONS).find("cl_khr_fp64") != std::string::npos;
  cl_ulong mem = 0;
  clGetDeviceInfo(pick->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(mem), &mem, nullptr);
  c.info.globalMem = mem;
  // Default budget: half the device memory, leaving room for CLBlast's temporaries and other processes.
  c.info.cacheBudget = cacheBudgetBytes ? cacheBudgetBytes : mem / 2;
  return c.info;
}

}  // namespace darray::ocl
