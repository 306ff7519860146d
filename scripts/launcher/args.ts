// Command-line parsing for the darray-run launcher (mpirun conventions).
// Parsing stops at the program name: everything after it belongs to the program.

import os from 'node:os';

/** A mistake on the command line; the launcher prints it with a hint and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface LaunchOptions {
  /** Number of ranks; undefined means "one per slot" (hostfile) or one per core. */
  np?: number;
  /** Seconds before the job is stopped with exit code 110; undefined: no limit. */
  timeout?: number;
  hostfile?: string;
  /** Command that starts a process on another host: `<agent...> host command...`. */
  launchAgent: string;
  /** `-x VAR=value` (value given) or `-x VAR` (value taken from the launcher's environment). */
  exports: { name: string; value?: string }[];
  tagOutput: boolean;
  oversubscribe: boolean;
  /** `--bind-to`: each rank's threads on its own share of its host's cores, or left to the OS. */
  bindTo?: 'core' | 'none';
  trace?: string;
  help: boolean;
  program?: string;
  programArgs: string[];
}

export const USAGE = `Usage: darray-run [options] PROGRAM [program args...]

Starts N copies (ranks) of PROGRAM that find each other through the environment
(DARRAY_RANK, DARRAY_SIZE, DARRAY_ROOT, ...). .ts programs run through tsx,
.js/.mjs/.cjs through node, anything else is executed directly.

Options (parsing stops at PROGRAM):
  -n, -np N               number of ranks (default: slots in the hostfile, else cores: ${os.availableParallelism()})
  --timeout SECONDS       stop the job after SECONDS; ranks first print what they are
                          blocked in (SIGUSR2); exit code 110
  --hostfile FILE         lines "host [slots=N]"; ranks fill hosts in order
  --launch-agent "CMD"    starts ranks on other hosts: CMD host env VAR=... cmd (default: ssh)
  -x VAR[=value]          export VAR to every rank (value from here when not given)
  --tag-output            prefix every output line with [rank] (default)
  --no-tag-output         pass output through untagged (still whole lines)
  --oversubscribe         allow more ranks than hostfile slots (one BLAS thread per rank)
  --bind-to core|none     core (default): each rank runs on its own share of its host's
                          cores, as Open MPI binds; ranks that outnumber the cores stay
                          unbound. none: the OS places every thread (DARRAY_BIND)
  --trace FILE            ask ranks to record a timeline (DARRAY_TRACE_DIR=FILE.parts)
  -h, --help              print this help

Exit status: 0 when every rank exits 0; otherwise the code of the lowest failing rank
(128+signal when killed), 110 on timeout, 2 on a usage error.`;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function positiveInt(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${flag} needs a positive integer, got '${text}'`);
  const n = Number(text);
  if (n > 65536) throw new UsageError(`${flag} ${text} is more ranks than this launcher supports (65536)`);
  return n;
}

function positiveSeconds(flag: string, text: string): number {
  const s = Number(text);
  if (text.trim() === '' || !Number.isFinite(s) || s <= 0) {
    throw new UsageError(`${flag} needs a positive number of seconds, got '${text}'`);
  }
  return s;
}

function parseExport(text: string): { name: string; value?: string } {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  if (!NAME_RE.test(name)) throw new UsageError(`-x needs VAR or VAR=value with a valid variable name, got '${text}'`);
  return eq < 0 ? { name } : { name, value: text.slice(eq + 1) };
}

/** Parses the launcher's own arguments (without `node` and the script path). Throws UsageError. */
export function parseArgs(argv: readonly string[]): LaunchOptions {
  const opts: LaunchOptions = {
    launchAgent: 'ssh', exports: [], tagOutput: true, oversubscribe: false, help: false, programArgs: [],
  };
  let i = 0;
  // Takes the value of a flag: `--flag=value` inline, else the next argument.
  const value = (flag: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
    i += 1;
    return argv[i];
  };
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') { i += 1; break; }
    if (!arg.startsWith('-') || arg === '-') break;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    switch (flag) {
      case '-n': case '-np': case '--np': case '--n':
        opts.np = positiveInt(flag, value(flag, inline)); break;
      case '--timeout': opts.timeout = positiveSeconds(flag, value(flag, inline)); break;
      case '--hostfile': opts.hostfile = value(flag, inline); break;
      case '--launch-agent': {
        const agent = value(flag, inline);
        if (agent.trim() === '') throw new UsageError('--launch-agent needs a command, got an empty string');
        opts.launchAgent = agent;
        break;
      }
      case '-x': opts.exports.push(parseExport(value(flag, inline))); break;
      case '--tag-output': opts.tagOutput = true; break;
      case '--no-tag-output': opts.tagOutput = false; break;
      case '--oversubscribe': opts.oversubscribe = true; break;
      case '--trace': opts.trace = value(flag, inline); break;
      case '--bind-to': {
        const to = value(flag, inline);
        if (to !== 'core' && to !== 'none') throw new UsageError(`--bind-to takes core or none, got '${to}'`);
        opts.bindTo = to;
        break;
      }
      case '-h': case '--help': opts.help = true; break;
      default:
        // `-n4` and `-np4`, as mpirun accepts them.
        if (/^-(n|np)\d+$/.test(arg)) { opts.np = positiveInt('-n', arg.replace(/^-(np|n)/, '')); break; }
        throw new UsageError(`unknown option '${arg}'`);
    }
    if (inline !== undefined && !['--np', '--n', '--timeout', '--hostfile', '--launch-agent', '--trace', '--bind-to'].includes(flag)) {
      throw new UsageError(`option ${flag} takes no value, got '${arg}'`);
    }
  }
  if (i < argv.length) {
    opts.program = argv[i];
    opts.programArgs = argv.slice(i + 1);
  }
  if (!opts.help && opts.program === undefined) throw new UsageError('no program given');
  return opts;
}
