#!/usr/bin/env node
// The package's `darray-run` bin: the TypeScript launcher (scripts/mpirun.ts) run through tsx.
import { runTypeScript } from './tsx-bin.mjs';

runTypeScript('darray-run', new URL('./mpirun.ts', import.meta.url));
