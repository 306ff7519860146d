// Argument checks for the tile kernels, run in TypeScript before the addon is called, so bad input fails with
// a TypeError/RangeError naming the kernel and the argument instead of reaching native code.
export type FloatArray = Float64Array | Float32Array;

/** A row-major matrix view: element (i, j) is `data[offset + i * ld + j]`. */
export interface Mat {
  data: FloatArray;
  offset?: number;
  ld: number;
}

export function isFloatArray(x: unknown): x is FloatArray {
  return x instanceof Float64Array || x instanceof Float32Array;
}

export function dtypeOf(a: FloatArray): 'float64' | 'float32' {
  return a instanceof Float64Array ? 'float64' : 'float32';
}

export function checkDim(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
    throw new RangeError(`${op}: ${name} must be a non-negative integer, got ${String(v)}`);
  }
  return v;
}

export function checkScalar(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number') throw new TypeError(`${op}: ${name} must be a number, got ${typeof v}`);
  return v;
}

export function checkBool(op: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${name} must be a boolean, got ${typeof v}`);
  return v;
}

export function checkFlag<T extends string>(op: string, name: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) {
    throw new TypeError(`${op}: ${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${String(v)}`);
  }
  return v as T;
}

export function checkArray(op: string, name: string, a: unknown, minLength: number): FloatArray {
  if (!isFloatArray(a)) throw new TypeError(`${op}: ${name} must be a Float64Array or Float32Array`);
  if (a.length < minLength) {
    throw new RangeError(`${op}: ${name} has ${a.length} elements, needs at least ${minLength}`);
  }
  return a;
}

/** Checks that M holds a rows x cols matrix; returns its offset. */
export function checkMat(op: string, name: string, M: unknown, rows: number, cols: number): number {
  if (typeof M !== 'object' || M === null) throw new TypeError(`${op}: ${name} must be a { data, offset, ld } matrix`);
  const { data, offset = 0, ld } = M as Mat;
  if (!isFloatArray(data)) throw new TypeError(`${op}: ${name}.data must be a Float64Array or Float32Array`);
  if (!Number.isInteger(offset) || offset < 0) {
    throw new RangeError(`${op}: ${name}.offset must be a non-negative integer, got ${String(offset)}`);
  }
  if (!Number.isInteger(ld) || ld < Math.max(1, cols)) {
    throw new RangeError(`${op}: ${name}.ld must be an integer >= ${Math.max(1, cols)} (its columns), got ${String(ld)}`);
  }
  if (rows > 0 && cols > 0) {
    const end = offset + (rows - 1) * ld + cols;
    if (end > data.length) {
      throw new RangeError(
        `${op}: ${name} (${rows}x${cols}, offset ${offset}, ld ${ld}) needs ${end} elements, its data has ${data.length}`,
      );
    }
  }
  return offset;
}

/** All operands of one kernel must share a dtype: the addon does not convert. */
export function checkSameDtype(op: string, operands: Record<string, FloatArray>): void {
  const names = Object.keys(operands);
  const first = dtypeOf(operands[names[0]]);
  for (const n of names.slice(1)) {
    const d = dtypeOf(operands[n]);
    if (d !== first) throw new TypeError(`${op}: ${names[0]} is ${first} but ${n} is ${d}; operands must share a dtype`);
  }
}
