// Level-1/3 tile kernels on the OpenCL device through CLBlast (row-major), on cached device copies.
#include <clblast.h>

#include "opencl/cache.h"

namespace darray::ocl {
namespace {

using clblast::Diagonal;
using clblast::Layout;
using clblast::Side;
using clblast::StatusCode;
using clblast::Transpose;
using clblast::Triangle;

Transpose Tr(bool t) { return t ? Transpose::kYes : Transpose::kNo; }
Triangle Tri(bool lower) { return lower ? Triangle::kLower : Triangle::kUpper; }
Side Sd(bool left) { return left ? Side::kLeft : Side::kRight; }
Diagonal Dg(bool unit) { return unit ? Diagonal::kUnit : Diagonal::kNonUnit; }

// Runs one CLBlast call on device copies of `tiles` (the last one is written) and waits for it.
template <class F>
Status Run(const char* op, std::initializer_list<const Tile*> tiles, F call) {
  std::lock_guard<std::mutex> g(Lock());
  if (!Ctx().queue) return Status::Backend(std::string(op) + ": the OpenCL device is not initialised");
  BeginOp();
  std::vector<cl_mem> mems;
  for (const Tile* t : tiles) {
    cl_mem m = nullptr;
    Status s = Acquire(*t, &m);
    if (!s.ok()) return s;
    mems.push_back(m);
  }
  cl_event ev = nullptr;
  StatusCode sc = call(mems.data(), &Ctx().queue, &ev);
  if (sc != StatusCode::kSuccess)
    return Status::Backend(std::string("CLBlast ") + op + " failed with status " + std::to_string(static_cast<int>(sc)));
  cl_int err = clWaitForEvents(1, &ev);
  clReleaseEvent(ev);
  if (err != CL_SUCCESS) return Status::Backend(ClError(op, err));
  MarkDirty(**(tiles.end() - 1));
  return Status::Ok();
}

}  // namespace

template <class T>
Status Gemm(bool transA, bool transB, int m, int n, int k, T alpha, Tile a, Tile b, T beta, Tile c) {
  if (m == 0 || n == 0) return Status::Ok();
  return Run("gemm", {&a, &b, &c}, [&](cl_mem* mm, cl_command_queue* q, cl_event* ev) {
    return clblast::Gemm<T>(Layout::kRowMajor, Tr(transA), Tr(transB), m, n, k, alpha, mm[0], a.offset, a.ld,
                            mm[1], b.offset, b.ld, beta, mm[2], c.offset, c.ld, q, ev);
  });
}

template <class T>
Status Syrk(bool lower, bool trans, int n, int k, T alpha, Tile a, T beta, Tile c) {
  if (n == 0) return Status::Ok();
  return Run("syrk", {&a, &c}, [&](cl_mem* mm, cl_command_queue* q, cl_event* ev) {
    return clblast::Syrk<T>(Layout::kRowMajor, Tri(lower), Tr(trans), n, k, alpha, mm[0], a.offset, a.ld, beta,
                            mm[1], c.offset, c.ld, q, ev);
  });
}

template <class T>
Status Trsm(bool left, bool lower, bool transA, bool unitDiag, int m, int n, T alpha, Tile a, Tile b) {
  if (m == 0 || n == 0) return Status::Ok();
  return Run("trsm", {&a, &b}, [&](cl_mem* mm, cl_command_queue* q, cl_event* ev) {
    return clblast::Trsm<T>(Layout::kRowMajor, Sd(left), Tri(lower), Tr(transA), Dg(unitDiag), m, n, alpha, mm[0],
                            a.offset, a.ld, mm[1], b.offset, b.ld, q, ev);
  });
}

template <class T>
Status Trmm(bool left, bool lower, bool transA, bool unitDiag, int m, int n, T alpha, Tile a, Tile b) {
  if (m == 0 || n == 0) return Status::Ok();
  return Run("trmm", {&a, &b}, [&](cl_mem* mm, cl_command_queue* q, cl_event* ev) {
    return clblast::Trmm<T>(Layout::kRowMajor, Sd(left), Tri(lower), Tr(transA), Dg(unitDiag), m, n, alpha, mm[0],
                            a.offset, a.ld, mm[1], b.offset, b.ld, q, ev);
  });
}

template <class T>
Status Axpy(int n, T alpha, Tile x, Tile y) {
  if (n == 0) return Status::Ok();
  return Run("axpy", {&x, &y}, [&](cl_mem* mm, cl_command_queue* q, cl_event* ev) {
    return clblast::Axpy<T>(n, alpha, mm[0], x.offset, 1, mm[1], y.offset, 1, q, ev);
  });
}

template <class T>
Status Scal(int n, T alpha, Tile x) {
  if (n == 0) return Status::Ok();
  return Run("scal", {&x}, [&](cl_mem* mm, cl_command_queue* q, cl_event* ev) {
    return clblast::Scal<T>(n, alpha, mm[0], x.offset, 1, q, ev);
  });
}

#define DARRAY_OCL_INSTANTIATE(T)                                                       \
  template Status Gemm<T>(bool, bool, int, int, int, T, Tile, Tile, T, Tile);          \
  template Status Syrk<T>(bool, bool, int, int, T, Tile, T, Tile);                      \
  template Status Trsm<T>(bool, bool, bool, bool, int, int, T, Tile, Tile);             \
  template Status Trmm<T>(bool, bool, bool, bool, int, int, T, Tile, Tile);             \
  template Status Axpy<T>(int, T, Tile, Tile);                                          \
  template Status Scal<T>(int, T, Tile);
DARRAY_OCL_INSTANTIATE(double)
DARRAY_OCL_INSTANTIATE(float)

}  // namespace darray::ocl
