// Shape and flop count of a tile kernel call, read from the argument list that src/kernels passes to the addon
// (only when tracing is on), so the trace can name `gemm 256x256x256` and the report can give GF/s.

export interface KernelShape {
  shape: number[];
  flops: number;
}

/** Shape and flops of addon call `op` with argument list `args` (see src/kernels/index.ts for the layouts). */
export function kernelShape(op: string, args: readonly unknown[]): KernelShape {
  const num = (i: number): number => (typeof args[i] === 'number' ? (args[i] as number) : NaN);
  switch (op) {
    case 'gemm': { // transA, transB, m, n, k, ...
      const [m, n, k] = [num(2), num(3), num(4)];
      return { shape: [m, n, k], flops: 2 * m * n * k };
    }
    case 'syrk': { // lower, trans, n, k, ...
      const [n, k] = [num(2), num(3)];
      return { shape: [n, k], flops: n * (n + 1) * k };
    }
    case 'trsm':
    case 'trmm': { // left, lower, transA, unitDiag, m, n, ...
      const [m, n] = [num(4), num(5)];
      return { shape: [m, n], flops: args[0] ? m * m * n : m * n * n };
    }
    case 'potrf': { // lower, n, ...
      const n = num(1);
      return { shape: [n], flops: n ** 3 / 3 };
    }
    case 'potrfInv': { // lower, n, ...: POTRF then TRTRI, n^3 / 3 each
      const n = num(1);
      return { shape: [n], flops: (2 * n ** 3) / 3 };
    }
    case 'trtri': { // lower, unitDiag, n, ...
      const n = num(2);
      return { shape: [n], flops: n ** 3 / 3 };
    }
    case 'getrf':
    case 'geqrf': { // m, n, ...
      const [m, n] = [num(0), num(1)];
      const k = Math.min(m, n);
      // LU's multiplications; each comes with an addition, and QR does twice LU's work (LAPACK's counts).
      const mults = m * n * k - ((m + n) * k * k) / 2 + k ** 3 / 3;
      return { shape: [m, n], flops: op === 'getrf' ? 2 * mults : 4 * mults };
    }
    case 'axpy':
      return { shape: [num(0)], flops: 2 * num(0) };
    case 'scal':
      return { shape: [num(0)], flops: num(0) };
    case 'copy':
      return { shape: [num(0)], flops: 0 };
    default:
      return { shape: [], flops: NaN };
  }
}
