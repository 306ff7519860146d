// JS entry points of the tile kernels. Each is instantiated three ways: async on the host (libuv pool),
// sync on the host (the benchmark's direct-BLAS reference) and async on the OpenCL device.
#include "kernels.h"

#include <algorithm>
#include <initializer_list>

#include "args.h"
#include "cpu/blas.h"
#include "opencl/device.h"
#include "worker.h"

namespace darray {
namespace {

ocl::Tile ToTile(const Mat& m) { return {m.arr.base, m.arr.bytes(), m.offset, m.ld}; }
ocl::Tile ToTile(const Arr& a) { return {a.base, a.bytes(), 0, 1}; }

// LAPACK factorizations run on the host on both backends (on OpenCL as MAGMA does for the diagonal tile), so
// on the device backend the tiles they read and write are fetched first when a kernel left them dirty there.
template <Mode M>
Status HostFirst(std::initializer_list<ocl::Tile> tiles) {
  if (M != Mode::kDevice) return Status::Ok();
  for (const ocl::Tile& t : tiles) {
    Status s = ocl::HostTakes(t);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// Runs body<T>() for the operands' element type.
template <class F>
Status ByDtype(bool f64, F body) {
  return f64 ? body(double{}) : body(float{});
}

}  // namespace

template <Mode M>
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Args a(info, "gemm");
  bool ta = a.Bool(0), tb = a.Bool(1);
  int m = a.Int(2), n = a.Int(3), k = a.Int(4);
  double alpha = a.Num(5), beta = a.Num(12);
  Mat A = a.Matrix(6, ta ? k : m, ta ? m : k), B = a.Matrix(9, tb ? n : k, tb ? k : n), C = a.Matrix(13, m, n);
  a.SameDtype({A.arr.dt, B.arr.dt, C.arr.dt});
  bool f64 = A.arr.dt == Dtype::kF64;
  auto fn = [=]() {
    return ByDtype(f64, [&](auto tag) {
      using T = decltype(tag);
      if (M == Mode::kDevice)
        return ocl::Gemm<T>(ta, tb, m, n, k, T(alpha), ToTile(A), ToTile(B), T(beta), ToTile(C));
      cpu::Gemm<T>(ta, tb, m, n, k, T(alpha), A.ptr<T>(), A.ld, B.ptr<T>(), B.ld, T(beta), C.ptr<T>(), C.ld);
      return Status::Ok();
    });
  };
  return Launch(info.Env(), M == Mode::kSync, "gemm", fn, {A.arr.obj, B.arr.obj, C.arr.obj});
}

template <Mode M>
Napi::Value Syrk(const Napi::CallbackInfo& info) {
  Args a(info, "syrk");
  bool lower = a.Bool(0), trans = a.Bool(1);
  int n = a.Int(2), k = a.Int(3);
  double alpha = a.Num(4), beta = a.Num(8);
  Mat A = a.Matrix(5, trans ? k : n, trans ? n : k), C = a.Matrix(9, n, n);
  a.SameDtype({A.arr.dt, C.arr.dt});
  bool f64 = A.arr.dt == Dtype::kF64;
  auto fn = [=]() {
    return ByDtype(f64, [&](auto tag) {
      using T = decltype(tag);
      if (M == Mode::kDevice) return ocl::Syrk<T>(lower, trans, n, k, T(alpha), ToTile(A), T(beta), ToTile(C));
      cpu::Syrk<T>(lower, trans, n, k, T(alpha), A.ptr<T>(), A.ld, T(beta), C.ptr<T>(), C.ld);
      return Status::Ok();
    });
  };
  return Launch(info.Env(), M == Mode::kSync, "syrk", fn, {A.arr.obj, C.arr.obj});
}

// trsm and trmm share their argument list: side, uplo, trans, diag, m, n, alpha, A, B.
template <Mode M, bool Solve>
Napi::Value Triangular(const Napi::CallbackInfo& info) {
  const char* op = Solve ? "trsm" : "trmm";
  Args a(info, op);
  bool left = a.Bool(0), lower = a.Bool(1), trans = a.Bool(2), unit = a.Bool(3);
  int m = a.Int(4), n = a.Int(5);
  double alpha = a.Num(6);
  int ka = left ? m : n;
  Mat A = a.Matrix(7, ka, ka), B = a.Matrix(10, m, n);
  a.SameDtype({A.arr.dt, B.arr.dt});
  bool f64 = A.arr.dt == Dtype::kF64;
  auto fn = [=]() {
    return ByDtype(f64, [&](auto tag) {
      using T = decltype(tag);
      if (M == Mode::kDevice)
        return Solve ? ocl::Trsm<T>(left, lower, trans, unit, m, n, T(alpha), ToTile(A), ToTile(B))
                     : ocl::Trmm<T>(left, lower, trans, unit, m, n, T(alpha), ToTile(A), ToTile(B));
      if (Solve) cpu::Trsm<T>(left, lower, trans, unit, m, n, T(alpha), A.ptr<T>(), A.ld, B.ptr<T>(), B.ld);
      else cpu::Trmm<T>(left, lower, trans, unit, m, n, T(alpha), A.ptr<T>(), A.ld, B.ptr<T>(), B.ld);
      return Status::Ok();
    });
  };
  return Launch(info.Env(), M == Mode::kSync, op, fn, {A.arr.obj, B.arr.obj});
}

// A host kernel on one square matrix in place: its device copy (if any) comes home first, then body<T>(ptr, ld).
template <Mode M, class Body>
Napi::Value HostInPlace(const Napi::CallbackInfo& info, const char* op, const Mat& A, Body body) {
  bool f64 = A.arr.dt == Dtype::kF64;
  auto fn = [=]() {
    Status s = HostFirst<M>({ToTile(A)});
    if (!s.ok()) return s;
    return ByDtype(f64, [&](auto tag) { return body(A.ptr<decltype(tag)>(), A.ld); });
  };
  return Launch(info.Env(), M == Mode::kSync, op, fn, {A.arr.obj});
}

template <Mode M>
Napi::Value Potrf(const Napi::CallbackInfo& info) {
  Args a(info, "potrf");
  bool lower = a.Bool(0);
  int n = a.Int(1);
  Mat A = a.Matrix(2, n, n);
  return HostInPlace<M>(info, "potrf", A, [=](auto* p, int ld) { return cpu::Potrf(lower, n, p, ld); });
}

// trtri(lower, unitDiag, n, A): A = A^-1 for a triangular A, on the host (the device copy is brought home first).
template <Mode M>
Napi::Value Trtri(const Napi::CallbackInfo& info) {
  Args a(info, "trtri");
  bool lower = a.Bool(0);
  bool unit = a.Bool(1);
  int n = a.Int(2);
  Mat A = a.Matrix(3, n, n);
  return HostInPlace<M>(info, "trtri", A, [=](auto* p, int ld) { return cpu::Trtri(lower, unit, n, p, ld); });
}

// potrfInv(lower, n, A, X): A = L, the Cholesky factor, and X = L^-1, both with the other triangle zero, on the
// host. The diagonal step of a tiled Cholesky as one call, so nothing runs between its two halves.
template <Mode M>
Napi::Value PotrfInv(const Napi::CallbackInfo& info) {
  Args a(info, "potrfInv");
  bool lower = a.Bool(0);
  int n = a.Int(1);
  Mat A = a.Matrix(2, n, n);
  Mat X = a.Matrix(5, n, n);
  a.SameDtype({A.arr.dt, X.arr.dt});
  bool f64 = A.arr.dt == Dtype::kF64;
  auto fn = [=]() {
    Status s = HostFirst<M>({ToTile(A), ToTile(X)});
    if (!s.ok()) return s;
    return ByDtype(f64, [&](auto tag) {
      using T = decltype(tag);
      return cpu::PotrfInv<T>(lower, n, A.ptr<T>(), A.ld, X.ptr<T>(), X.ld);
    });
  };
  return Launch(info.Env(), M == Mode::kSync, "potrfInv", fn, {A.arr.obj, X.arr.obj});
}

template <Mode M>
Napi::Value Getrf(const Napi::CallbackInfo& info) {
  Args a(info, "getrf");
  int m = a.Int(0), n = a.Int(1);
  Mat A = a.Matrix(2, m, n);
  Napi::Int32Array ipiv = a.Int32(5);
  if (ipiv.ElementLength() < static_cast<size_t>(m < n ? m : n)) a.Fail("ipiv is shorter than min(m, n)");
  int* piv = ipiv.Data();
  bool f64 = A.arr.dt == Dtype::kF64;
  auto fn = [=]() {
    Status s = HostFirst<M>({ToTile(A)});
    if (!s.ok()) return s;
    return ByDtype(f64, [&](auto tag) {
      using T = decltype(tag);
      return cpu::Getrf<T>(m, n, A.ptr<T>(), A.ld, piv);
    });
  };
  return Launch(info.Env(), M == Mode::kSync, "getrf", fn, {A.arr.obj, ipiv});
}

template <Mode M>
Napi::Value Geqrf(const Napi::CallbackInfo& info) {
  Args a(info, "geqrf");
  int m = a.Int(0), n = a.Int(1);
  Mat A = a.Matrix(2, m, n);
  Arr tau = a.Array(5);
  a.SameDtype({A.arr.dt, tau.dt});
  if (tau.length < static_cast<size_t>(m < n ? m : n)) a.Fail("tau is shorter than min(m, n)");
  bool f64 = A.arr.dt == Dtype::kF64;
  auto fn = [=]() {
    Status s = HostFirst<M>({ToTile(A), ToTile(tau)});
    if (!s.ok()) return s;
    return ByDtype(f64, [&](auto tag) {
      using T = decltype(tag);
      return cpu::Geqrf<T>(m, n, A.ptr<T>(), A.ld, reinterpret_cast<T*>(tau.base));
    });
  };
  return Launch(info.Env(), M == Mode::kSync, "geqrf", fn, {A.arr.obj, tau.obj});
}

template <Mode M>
Napi::Value Axpy(const Napi::CallbackInfo& info) {
  Args a(info, "axpy");
  int n = a.Int(0);
  double alpha = a.Num(1);
  Arr x = a.Vector(2, n), y = a.Vector(3, n);
  a.SameDtype({x.dt, y.dt});
  bool f64 = x.dt == Dtype::kF64;
  auto fn = [=]() {
    return ByDtype(f64, [&](auto tag) {
      using T = decltype(tag);
      if (M == Mode::kDevice) return ocl::Axpy<T>(n, T(alpha), ToTile(x), ToTile(y));
      cpu::Axpy<T>(n, T(alpha), reinterpret_cast<const T*>(x.base), reinterpret_cast<T*>(y.base));
      return Status::Ok();
    });
  };
  return Launch(info.Env(), M == Mode::kSync, "axpy", fn, {x.obj, y.obj});
}

template <Mode M>
Napi::Value Scal(const Napi::CallbackInfo& info) {
  Args a(info, "scal");
  int n = a.Int(0);
  double alpha = a.Num(1);
  Arr x = a.Vector(2, n);
  bool f64 = x.dt == Dtype::kF64;
  auto fn = [=]() {
    return ByDtype(f64, [&](auto tag) {
      using T = decltype(tag);
      if (M == Mode::kDevice) return ocl::Scal<T>(n, T(alpha), ToTile(x));
      cpu::Scal<T>(n, T(alpha), reinterpret_cast<T*>(x.base));
      return Status::Ok();
    });
  };
  return Launch(info.Env(), M == Mode::kSync, "scal", fn, {x.obj});
}

// copy(n, x, y): y = x on the host, off the JS thread (the device copy of y, if any, is dropped).
template <Mode M>
Napi::Value Copy(const Napi::CallbackInfo& info) {
  Args a(info, "copy");
  int n = a.Int(0);
  Arr x = a.Vector(1, n), y = a.Vector(2, n);
  a.SameDtype({x.dt, y.dt});
  bool f64 = x.dt == Dtype::kF64;
  auto fn = [=]() {
    Status s = HostFirst<M>({ToTile(x), ToTile(y)});
    if (!s.ok()) return s;
    return ByDtype(f64, [&](auto tag) {
      using T = decltype(tag);
      cpu::Copy<T>(n, reinterpret_cast<const T*>(x.base), reinterpret_cast<T*>(y.base));
      return Status::Ok();
    });
  };
  return Launch(info.Env(), M == Mode::kSync, "copy", fn, {x.obj, y.obj});
}

void RegisterKernels(Napi::Env env, Napi::Object exports) {
  struct Entry {
    const char* name;
    Napi::Value (*cpu)(const Napi::CallbackInfo&);
    Napi::Value (*sync)(const Napi::CallbackInfo&);
    Napi::Value (*dev)(const Napi::CallbackInfo&);
  };
  const Entry entries[] = {
      {"gemm", Gemm<Mode::kCpu>, Gemm<Mode::kSync>, Gemm<Mode::kDevice>},
      {"syrk", Syrk<Mode::kCpu>, Syrk<Mode::kSync>, Syrk<Mode::kDevice>},
      {"trsm", Triangular<Mode::kCpu, true>, Triangular<Mode::kSync, true>, Triangular<Mode::kDevice, true>},
      {"trmm", Triangular<Mode::kCpu, false>, Triangular<Mode::kSync, false>, Triangular<Mode::kDevice, false>},
      {"potrf", Potrf<Mode::kCpu>, Potrf<Mode::kSync>, Potrf<Mode::kDevice>},
      {"potrfInv", PotrfInv<Mode::kCpu>, PotrfInv<Mode::kSync>, PotrfInv<Mode::kDevice>},
      {"trtri", Trtri<Mode::kCpu>, Trtri<Mode::kSync>, Trtri<Mode::kDevice>},
      {"getrf", Getrf<Mode::kCpu>, Getrf<Mode::kSync>, Getrf<Mode::kDevice>},
      {"geqrf", Geqrf<Mode::kCpu>, Geqrf<Mode::kSync>, Geqrf<Mode::kDevice>},
      {"axpy", Axpy<Mode::kCpu>, Axpy<Mode::kSync>, Axpy<Mode::kDevice>},
      {"copy", Copy<Mode::kCpu>, Copy<Mode::kSync>, Copy<Mode::kDevice>},
      {"scal", Scal<Mode::kCpu>, Scal<Mode::kSync>, Scal<Mode::kDevice>},
  };
  for (const auto& e : entries) {
    std::string n = e.name;
    exports.Set(n, Napi::Function::New(env, e.cpu, n));
    exports.Set(n + "Sync", Napi::Function::New(env, e.sync, n + "Sync"));
    std::string cl = "cl" + n;
    cl[2] = static_cast<char>(cl[2] - 'a' + 'A');
    exports.Set(cl, Napi::Function::New(env, e.dev, cl));
  }
}

}  // namespace darray
