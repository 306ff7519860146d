/* Open MPI reference for bench/comm-collectives.ts: times MPI_Allreduce (sum of doubles) and MPI_Bcast the way
 * that bench times darray (per call, barrier between calls, max over ranks of the mean), one JSON line each. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Mean seconds per call of one collective on `bytes` bytes, the maximum over ranks. */
static double time_op(const char *op, size_t bytes, int iters, int warmup) {
  size_t n = bytes / sizeof(double);
  double *in = malloc(n * sizeof(double) + 8), *out = malloc(n * sizeof(double) + 8);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  for (size_t i = 0; i < n; i++) in[i] = (double)((i * 7 + rank * 13) % 23) - 11.0;
  double total = 0;
  for (int it = 0; it < warmup + iters; it++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (strcmp(op, "allreduce") == 0) MPI_Allreduce(in, out, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    else MPI_Bcast(in, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    double dt = MPI_Wtime() - t0;
    if (it >= warmup) total += dt;
  }
  double mean = total / iters, worst;
  MPI_Allreduce(&mean, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  free(in);
  free(out);
  return worst;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  /* argv: op bytes iters warmup, repeated */
  for (int a = 1; a + 3 < argc; a += 4) {
    const char *op = argv[a];
    size_t bytes = strtoull(argv[a + 1], NULL, 10);
    int iters = atoi(argv[a + 2]), warmup = atoi(argv[a + 3]);
    double s = time_op(op, bytes, iters, warmup);
    if (rank == 0) printf("{\"op\":\"%s\",\"bytes\":%zu,\"ranks\":%d,\"us\":%.3f}\n", op, bytes, size, s * 1e6);
    fflush(stdout);
  }
  MPI_Finalize();
  return 0;
}
