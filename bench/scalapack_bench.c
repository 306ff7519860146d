/* ScaLAPACK reference for bench/linalg.ts: times pdgemm or pdpotrf on an n x n float64 matrix over Open MPI
 * and prints one JSON line per run. Built with mpicc at bench time; usage: scalapack_bench gemm|potrf n nb [reps] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* BLACS and ScaLAPACK have no C header in Debian's package: declare what we call. */
extern void Cblacs_pinfo(int *mypnum, int *nprocs);
extern void Cblacs_get(int context, int request, int *value);
extern void Cblacs_gridinit(int *context, const char *order, int nprow, int npcol);
extern void Cblacs_gridinfo(int context, int *nprow, int *npcol, int *myrow, int *mycol);
extern void Cblacs_gridexit(int context);
extern int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
extern void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc,
                      const int *icsrc, const int *ictxt, const int *lld, int *info);
extern void pdgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k, const double *alpha,
                    const double *a, const int *ia, const int *ja, const int *desca, const double *b,
                    const int *ib, const int *jb, const int *descb, const double *beta, double *c,
                    const int *ic, const int *jc, const int *descc);
extern void pdpotrf_(const char *uplo, const int *n, double *a, const int *ia, const int *ja, const int *desca,
                     int *info);

/* Deterministic value of global element (i, j), symmetric in i and j, in [0, 1). */
static double entry(long i, long j) {
  unsigned long a = (unsigned long)(i < j ? i : j), b = (unsigned long)(i < j ? j : i);
  unsigned long h = a * 0x9E3779B97F4A7C15UL ^ (b + 0x632BE59BD9B4E019UL) * 0xBF58476D1CE4E5B9UL;
  h ^= h >> 31; h *= 0x94D049BB133111EBUL; h ^= h >> 29;
  return (double)(h >> 11) / 9007199254740992.0;
}

/* Fill the local part (column-major, lld rows) of a block-cyclic n x n matrix; n added on the diagonal
 * makes it diagonally dominant, hence SPD. */
static void fill(double *a, int n, int nb, int myrow, int mycol, int nprow, int npcol, int lld, int locc,
                 int spd) {
  for (int lj = 0; lj < locc; lj++) {
    long gj = ((long)(lj / nb) * npcol + mycol) * nb + lj % nb;
    for (int li = 0; li < lld; li++) {
      long gi = ((long)(li / nb) * nprow + myrow) * nb + li % nb;
      if (gi >= n) { a[(long)lj * lld + li] = 0; continue; }
      a[(long)lj * lld + li] = entry(gi, gj) + (spd && gi == gj ? n : 0);
    }
  }
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  if (argc < 4) {
    fprintf(stderr, "usage: %s gemm|potrf n nb [reps]\n", argv[0]);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  const char *op = argv[1];
  int n = atoi(argv[2]), nb = atoi(argv[3]), reps = argc > 4 ? atoi(argv[4]) : 2;
  int me, np;
  Cblacs_pinfo(&me, &np);
  /* Grid: 1 x P for two ranks (measured best for both routines), near-square otherwise. */
  int nprow = 1;
  if (np > 2) for (int r = 1; r * r <= np; r++) if (np % r == 0) nprow = r;
  int npcol = np / nprow;
  int ctx;
  Cblacs_get(-1, 0, &ctx);
  Cblacs_gridinit(&ctx, "Row", nprow, npcol);
  int myrow, mycol;
  Cblacs_gridinfo(ctx, &nprow, &npcol, &myrow, &mycol);
  int zero = 0, one = 1, info;
  int locr = numroc_(&n, &nb, &myrow, &zero, &nprow), locc = numroc_(&n, &nb, &mycol, &zero, &npcol);
  int lld = locr > 1 ? locr : 1;
  int desc[9];
  descinit_(desc, &n, &n, &nb, &nb, &zero, &zero, &ctx, &lld, &info);
  size_t cnt = (size_t)lld * (locc > 1 ? locc : 1);
  double *a = malloc(cnt * sizeof(double)), *b = NULL, *c = NULL;
  int isgemm = strcmp(op, "gemm") == 0;
  if (isgemm) {
    b = malloc(cnt * sizeof(double));
    c = malloc(cnt * sizeof(double));
    fill(a, n, nb, myrow, mycol, nprow, npcol, lld, locc, 0);
    fill(b, n, nb, myrow, mycol, nprow, npcol, lld, locc, 0);
    memset(c, 0, cnt * sizeof(double));
  }
  double best = 1e300;
  int bad = 0;
  for (int r = 0; r < reps; r++) {
    if (!isgemm) fill(a, n, nb, myrow, mycol, nprow, npcol, lld, locc, 1);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (isgemm) {
      double alpha = 1.0, beta = 0.0;
      pdgemm_("N", "N", &n, &n, &n, &alpha, a, &one, &one, desc, b, &one, &one, desc, &beta, c, &one, &one, desc);
    } else {
      pdpotrf_("L", &n, a, &one, &one, desc, &info);
      if (info != 0) bad = info;
    }
    double dt = MPI_Wtime() - t0, worst;
    MPI_Allreduce(&dt, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (worst < best) best = worst;
  }
  double flops = isgemm ? 2.0 * n * (double)n * n : (double)n * n * n / 3.0;
  if (me == 0)
    printf("{\"op\":\"%s\",\"n\":%d,\"nb\":%d,\"ranks\":%d,\"grid\":[%d,%d],\"seconds\":%.6f,\"gflops\":%.3f,"
           "\"info\":%d}\n",
           isgemm ? "pdgemm" : "pdpotrf", n, nb, np, nprow, npcol, best, flops / best / 1e9, bad);
  free(a); free(b); free(c);
  Cblacs_gridexit(ctx);
  MPI_Finalize();
  return bad ? 1 : 0;
}
