#!/usr/bin/env node
// The package's `darray-report` bin: renders a merged trace (scripts/darray-report.ts) through tsx.
import { runTypeScript } from './tsx-bin.mjs';

runTypeScript('darray-report', new URL('./darray-report.ts', import.meta.url));
