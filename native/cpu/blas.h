// Host tile kernels on row-major storage through CBLAS (OpenBLAS) and LAPACKE. Pointers already point at
// element (0, 0) of the tile; ld is the row stride in elements. Stateless and safe to call from any thread.
#pragma once
#include "status.h"

namespace darray::cpu {

template <class T>
void Gemm(bool transA, bool transB, int m, int n, int k, T alpha, const T* a, int lda, const T* b, int ldb,
          T beta, T* c, int ldc);
template <class T>
void Syrk(bool lower, bool trans, int n, int k, T alpha, const T* a, int lda, T beta, T* c, int ldc);
template <class T>
void Trsm(bool left, bool lower, bool transA, bool unitDiag, int m, int n, T alpha, const T* a, int lda, T* b,
          int ldb);
template <class T>
void Trmm(bool left, bool lower, bool transA, bool unitDiag, int m, int n, T alpha, const T* a, int lda, T* b,
          int ldb);
template <class T>
void Axpy(int n, T alpha, const T* x, T* y);
template <class T>
void Scal(int n, T alpha, T* x);
template <class T>
void Copy(int n, const T* x, T* y);
template <class T>
Status Potrf(bool lower, int n, T* a, int lda);
// In-place inverse of a triangular matrix (LAPACK trtri); Singular when a diagonal entry is exactly zero.
template <class T>
Status Trtri(bool lower, bool unitDiag, int n, T* a, int lda);
// The Cholesky factor of A in place and its inverse in X (both n x n, the other triangle zeroed): the diagonal
// step of a tiled Cholesky. NotPd names the first failing column.
template <class T>
Status PotrfInv(bool lower, int n, T* a, int lda, T* x, int ldx);
// ipiv: min(m, n) entries, 0-based: row i was swapped with row ipiv[i].
template <class T>
Status Getrf(int m, int n, T* a, int lda, int* ipiv);
template <class T>
Status Geqrf(int m, int n, T* a, int lda, T* tau);

// BLAS threads used by the calling kernels (OpenBLAS's setting is process-wide).
void SetThreads(int n);
int GetThreads();

}  // namespace darray::cpu
