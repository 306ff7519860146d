// darray-run: the SPMD launcher. `npx tsx scripts/mpirun.ts -n 4 prog.ts [args...]` starts 4 ranks.
// See scripts/launcher/args.ts for the flags and docs/internal-interfaces.md for what ranks receive.

import { parseArgs, USAGE, UsageError } from './launcher/args.js';
import { runJob } from './launcher/job.js';

async function main(argv: string[]): Promise<number> {
  try {
    const opts = parseArgs(argv);
    if (opts.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    return await runJob(opts);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`darray-run: ${err.message}\nTry 'darray-run --help'.\n`);
      return 2;
    }
    process.stderr.write(`darray-run: internal error: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
// Exit once our own output has drained (pipes are asynchronous), without waiting on anything else.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
