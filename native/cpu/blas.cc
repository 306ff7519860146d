// CBLAS/LAPACKE bindings for the host tile kernels, both precisions, row-major.
#include "cpu/blas.h"

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <vector>

namespace darray::cpu {
namespace {

CBLAS_TRANSPOSE Tr(bool t) { return t ? CblasTrans : CblasNoTrans; }
CBLAS_UPLO Uplo(bool lower) { return lower ? CblasLower : CblasUpper; }
CBLAS_SIDE Side(bool left) { return left ? CblasLeft : CblasRight; }
CBLAS_DIAG Diag(bool unit) { return unit ? CblasUnit : CblasNonUnit; }

void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, double al, const double* a, int lda,
          const double* b, int ldb, double be, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc);
}
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float al, const float* a, int lda,
          const float* b, int ldb, float be, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc);
}
void syrk(CBLAS_UPLO u, CBLAS_TRANSPOSE t, int n, int k, double al, const double* a, int lda, double be,
          double* c, int ldc) {
  cblas_dsyrk(CblasRowMajor, u, t, n, k, al, a, lda, be, c, ldc);
}
void syrk(CBLAS_UPLO u, CBLAS_TRANSPOSE t, int n, int k, float al, const float* a, int lda, float be, float* c,
          int ldc) {
  cblas_ssyrk(CblasRowMajor, u, t, n, k, al, a, lda, be, c, ldc);
}
void trsm(CBLAS_SIDE s, CBLAS_UPLO u, CBLAS_TRANSPOSE t, CBLAS_DIAG d, int m, int n, double al, const double* a,
          int lda, double* b, int ldb) {
  cblas_dtrsm(CblasRowMajor, s, u, t, d, m, n, al, a, lda, b, ldb);
}
void trsm(CBLAS_SIDE s, CBLAS_UPLO u, CBLAS_TRANSPOSE t, CBLAS_DIAG d, int m, int n, float al, const float* a,
          int lda, float* b, int ldb) {
  cblas_strsm(CblasRowMajor, s, u, t, d, m, n, al, a, lda, b, ldb);
}
void trmm(CBLAS_SIDE s, CBLAS_UPLO u, CBLAS_TRANSPOSE t, CBLAS_DIAG d, int m, int n, double al, const double* a,
          int lda, double* b, int ldb) {
  cblas_dtrmm(CblasRowMajor, s, u, t, d, m, n, al, a, lda, b, ldb);
}
void trmm(CBLAS_SIDE s, CBLAS_UPLO u, CBLAS_TRANSPOSE t, CBLAS_DIAG d, int m, int n, float al, const float* a,
          int lda, float* b, int ldb) {
  cblas_strmm(CblasRowMajor, s, u, t, d, m, n, al, a, lda, b, ldb);
}
void axpy(int n, double al, const double* x, double* y) { cblas_daxpy(n, al, x, 1, y, 1); }
void axpy(int n, float al, const float* x, float* y) { cblas_saxpy(n, al, x, 1, y, 1); }
void copy(int n, const double* x, double* y) { cblas_dcopy(n, x, 1, y, 1); }
void copy(int n, const float* x, float* y) { cblas_scopy(n, x, 1, y, 1); }
void scal(int n, double al, double* x) { cblas_dscal(n, al, x, 1); }
void scal(int n, float al, float* x) { cblas_sscal(n, al, x, 1); }
// A row-major lower triangle is the column-major upper triangle of the same memory, so potrf runs
// column-major with the triangle swapped: no transposed copy as LAPACKE's row-major path would make.
lapack_int potrf(char u, int n, double* a, int lda) { return LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, u, n, a, lda); }
lapack_int potrf(char u, int n, float* a, int lda) { return LAPACKE_spotrf_work(LAPACK_COL_MAJOR, u, n, a, lda); }
lapack_int trtri(char u, char d, int n, double* a, int lda) {
  return LAPACKE_dtrtri_work(LAPACK_COL_MAJOR, u, d, n, a, lda);
}
lapack_int trtri(char u, char d, int n, float* a, int lda) {
  return LAPACKE_strtri_work(LAPACK_COL_MAJOR, u, d, n, a, lda);
}
lapack_int getrf(int m, int n, double* a, int lda, lapack_int* p) {
  return LAPACKE_dgetrf(LAPACK_ROW_MAJOR, m, n, a, lda, p);
}
lapack_int getrf(int m, int n, float* a, int lda, lapack_int* p) {
  return LAPACKE_sgetrf(LAPACK_ROW_MAJOR, m, n, a, lda, p);
}
lapack_int geqrf(int m, int n, double* a, int lda, double* tau) {
  return LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, m, n, a, lda, tau);
}
lapack_int geqrf(int m, int n, float* a, int lda, float* tau) {
  return LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, m, n, a, lda, tau);
}

}  // namespace

template <class T>
void Gemm(bool transA, bool transB, int m, int n, int k, T alpha, const T* a, int lda, const T* b, int ldb,
          T beta, T* c, int ldc) {
  if (m == 0 || n == 0) return;
  gemm(Tr(transA), Tr(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
template <class T>
void Syrk(bool lower, bool trans, int n, int k, T alpha, const T* a, int lda, T beta, T* c, int ldc) {
  if (n == 0) return;
  syrk(Uplo(lower), Tr(trans), n, k, alpha, a, lda, beta, c, ldc);
}
template <class T>
void Trsm(bool left, bool lower, bool transA, bool unitDiag, int m, int n, T alpha, const T* a, int lda, T* b,
          int ldb) {
  if (m == 0 || n == 0) return;
  trsm(Side(left), Uplo(lower), Tr(transA), Diag(unitDiag), m, n, alpha, a, lda, b, ldb);
}
template <class T>
void Trmm(bool left, bool lower, bool transA, bool unitDiag, int m, int n, T alpha, const T* a, int lda, T* b,
          int ldb) {
  if (m == 0 || n == 0) return;
  trmm(Side(left), Uplo(lower), Tr(transA), Diag(unitDiag), m, n, alpha, a, lda, b, ldb);
}
template <class T>
void Axpy(int n, T alpha, const T* x, T* y) {
  if (n > 0) axpy(n, alpha, x, y);
}
template <class T>
void Copy(int n, const T* x, T* y) {
  if (n > 0) copy(n, x, y);
}
template <class T>
void Scal(int n, T alpha, T* x) {
  if (n > 0) scal(n, alpha, x);
}
template <class T>
Status Potrf(bool lower, int n, T* a, int lda) {
  if (n == 0) return Status::Ok();
  lapack_int info = potrf(lower ? 'U' : 'L', n, a, lda);
  if (info > 0) return Status::NotPd(static_cast<int>(info) - 1);
  if (info < 0) return Status::Internal("potrf: LAPACK rejected argument " + std::to_string(-info));
  return Status::Ok();
}
template <class T>
Status Trtri(bool lower, bool unitDiag, int n, T* a, int lda) {
  if (n == 0) return Status::Ok();
  // Row-major lower is column-major upper, as for potrf: the inverse of the transpose is the transposed inverse.
  lapack_int info = trtri(lower ? 'U' : 'L', unitDiag ? 'U' : 'N', n, a, lda);
  if (info > 0) return Status::Singular(static_cast<int>(info) - 1);
  if (info < 0) return Status::Internal("trtri: LAPACK rejected argument " + std::to_string(-info));
  return Status::Ok();
}
// Below this order the factor and its inverse come from LAPACK's potrf and trtri; above it, from two halves
// joined by TRMMs and a SYRK, which OpenBLAS runs near GEMM speed while its potrf and trtri on a whole tile of
// 512 reach a quarter of it (one AVX-512 core, tile of 512: 5.2-6.4 ms for potrf + trtri, 3.4 ms recursive;
// leaves of 64 ran as fast as 128, leaves of 256 1.7x slower).
constexpr int kPotrfInvLeaf = 128;

// Copies a rows x cols row-major block from a (row stride lda) to x (row stride ldx).
template <class T>
void CopyBlock(int rows, int cols, const T* a, int lda, T* x, int ldx) {
  for (int i = 0; i < rows; ++i) {
    const T* row = a + static_cast<size_t>(i) * lda;
    std::copy(row, row + cols, x + static_cast<size_t>(i) * ldx);
  }
}

template <class T>
Status PotrfInvLeaf(bool lower, int n, T* a, int lda, T* x, int ldx) {
  Status s = Potrf<T>(lower, n, a, lda);
  if (!s.ok()) return s;
  CopyBlock(n, n, a, lda, x, ldx);
  return Trtri<T>(lower, false, n, x, ldx);
}

// Recursive on the 2 x 2 block split. Lower (A = L L^T): L21 = A21 X11^T, A22 -= L21 L21^T, then
// X21 = -X22 L21 X11. Upper (A = U^T U) is its transpose: U12 = Y11^T A12, A22 -= U12^T U12, Y12 = -Y11 U12 Y22.
// Only the triangles are written; the caller zeroes the other ones.
template <class T>
Status PotrfInvRec(bool lower, int n, T* a, int lda, T* x, int ldx) {
  if (n <= kPotrfInvLeaf) return PotrfInvLeaf(lower, n, a, lda, x, ldx);
  const int n1 = (n / 2 + 7) / 8 * 8, n2 = n - n1;
  const auto at = [](T* p, int ld, int i, int j) { return p + static_cast<size_t>(i) * ld + j; };
  T* a11 = a;
  T* a22 = at(a, lda, n1, n1);
  T* x11 = x;
  T* x22 = at(x, ldx, n1, n1);
  Status s = PotrfInvRec(lower, n1, a11, lda, x11, ldx);
  if (!s.ok()) return s;
  // The off-diagonal block: A21 (n2 x n1) for lower, A12 (n1 x n2) for upper; X's block at the same place.
  T* a_off = lower ? at(a, lda, n1, 0) : at(a, lda, 0, n1);
  T* x_off = lower ? at(x, ldx, n1, 0) : at(x, ldx, 0, n1);
  const int rows = lower ? n2 : n1, cols = lower ? n1 : n2;
  if (lower) Trmm<T>(false, true, true, false, n2, n1, T(1), x11, ldx, a_off, lda);
  else Trmm<T>(true, false, true, false, n1, n2, T(1), x11, ldx, a_off, lda);
  Syrk<T>(lower, !lower, n2, n1, T(-1), a_off, lda, T(1), a22, lda);
  s = PotrfInvRec(lower, n2, a22, lda, x22, ldx);
  if (!s.ok()) return s.code == Code::kNotPositiveDefinite ? Status::NotPd(n1 + s.column) : s;
  CopyBlock(rows, cols, a_off, lda, x_off, ldx);
  if (lower) {
    Trmm<T>(false, true, false, false, n2, n1, T(1), x11, ldx, x_off, ldx);
    Trmm<T>(true, true, false, false, n2, n1, T(-1), x22, ldx, x_off, ldx);
  } else {
    Trmm<T>(true, false, false, false, n1, n2, T(1), x11, ldx, x_off, ldx);
    Trmm<T>(false, false, false, false, n1, n2, T(-1), x22, ldx, x_off, ldx);
  }
  return Status::Ok();
}

// Zeroes the triangle of an n x n row-major matrix that a lower (or upper) triangular one does not use.
template <class T>
void ZeroOtherTriangle(bool lower, int n, T* a, int lda) {
  for (int i = 0; i < n; ++i) {
    T* row = a + static_cast<size_t>(i) * lda;
    if (lower) std::fill(row + i + 1, row + n, T(0));
    else std::fill(row, row + i, T(0));
  }
}

template <class T>
Status PotrfInv(bool lower, int n, T* a, int lda, T* x, int ldx) {
  if (n == 0) return Status::Ok();
  Status s = PotrfInvRec(lower, n, a, lda, x, ldx);
  if (!s.ok()) return s;
  ZeroOtherTriangle(lower, n, a, lda);
  ZeroOtherTriangle(lower, n, x, ldx);
  return Status::Ok();
}
template <class T>
Status Getrf(int m, int n, T* a, int lda, int* ipiv) {
  if (m == 0 || n == 0) return Status::Ok();
  const int r = m < n ? m : n;
  std::vector<lapack_int> p(r);
  lapack_int info = getrf(m, n, a, lda, p.data());
  for (int i = 0; i < r; ++i) ipiv[i] = static_cast<int>(p[i]) - 1;  // LAPACK pivots are 1-based
  if (info > 0) return Status::Singular(static_cast<int>(info) - 1);
  if (info < 0) return Status::Internal("getrf: LAPACK rejected argument " + std::to_string(-info));
  return Status::Ok();
}
template <class T>
Status Geqrf(int m, int n, T* a, int lda, T* tau) {
  if (m == 0 || n == 0) return Status::Ok();
  lapack_int info = geqrf(m, n, a, lda, tau);
  if (info < 0) return Status::Internal("geqrf: LAPACK rejected argument " + std::to_string(-info));
  return Status::Ok();
}

void SetThreads(int n) { openblas_set_num_threads(n); }
int GetThreads() { return openblas_get_num_threads(); }

#define DARRAY_INSTANTIATE(T)                                                                              \
  template void Gemm<T>(bool, bool, int, int, int, T, const T*, int, const T*, int, T, T*, int);          \
  template void Syrk<T>(bool, bool, int, int, T, const T*, int, T, T*, int);                               \
  template void Trsm<T>(bool, bool, bool, bool, int, int, T, const T*, int, T*, int);                      \
  template void Trmm<T>(bool, bool, bool, bool, int, int, T, const T*, int, T*, int);                      \
  template void Axpy<T>(int, T, const T*, T*);                                                             \
  template void Scal<T>(int, T, T*);                                                                       \
  template void Copy<T>(int, const T*, T*);                                                                \
  template Status Potrf<T>(bool, int, T*, int);                                                            \
  template Status Trtri<T>(bool, bool, int, T*, int);                                                      \
  template Status PotrfInv<T>(bool, int, T*, int, T*, int);                                                \
  template Status Getrf<T>(int, int, T*, int, int*);                                                       \
  template Status Geqrf<T>(int, int, T*, int, T*);
DARRAY_INSTANTIATE(double)
DARRAY_INSTANTIATE(float)

}  // namespace darray::cpu
