// The `// spmd: ranks=1,2,3 timeout=120 env=VAR=a|b` header of an SPMD test program (test/spmd/*.ts),
// read from the file's first 5 lines by test/spmd.test.ts.

export interface SpmdSpec {
  ranks: number[];
  timeout: number;                            // seconds
  env?: { name: string; values: string[] };   // one run per value
}

export const DEFAULT_SPEC: SpmdSpec = { ranks: [1, 2, 3, 4], timeout: 180 };

/** Parses the header of `source`; defaults where absent. Throws naming the file on a malformed header. */
export function parseSpmdHeader(source: string, fileName = 'program'): SpmdSpec {
  const spec: SpmdSpec = { ...DEFAULT_SPEC, ranks: [...DEFAULT_SPEC.ranks] };
  const line = source.split('\n', 5).find((l) => /^\s*\/\/\s*spmd:/.test(l));
  if (line === undefined) return spec;
  const bad = (why: string) => new Error(`${fileName}: bad spmd header '${line.trim()}': ${why}`);
  for (const field of line.replace(/^\s*\/\/\s*spmd:/, '').trim().split(/\s+/).filter(Boolean)) {
    const eq = field.indexOf('=');
    if (eq < 0) throw bad(`expected key=value, got '${field}'`);
    const key = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (key === 'ranks') {
      if (!/^\d+(,\d+)*$/.test(value)) throw bad(`ranks must be a comma list of positive integers, got '${value}'`);
      spec.ranks = value.split(',').map(Number);
      if (spec.ranks.some((n) => n < 1)) throw bad('ranks must be at least 1');
    } else if (key === 'timeout') {
      const t = Number(value);
      if (!(t > 0) || !Number.isFinite(t)) throw bad(`timeout must be a positive number of seconds, got '${value}'`);
      spec.timeout = t;
    } else if (key === 'env') {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(value);
      if (!m) throw bad(`env must be NAME=value1|value2, got '${value}'`);
      spec.env = { name: m[1], values: m[2].split('|') };
    } else {
      throw bad(`unknown key '${key}' (known: ranks, timeout, env)`);
    }
  }
  return spec;
}
