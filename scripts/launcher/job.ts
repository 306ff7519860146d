// Runs one SPMD job: spawns every rank in its own process group, tags its output, stops the whole job
// fast when a rank fails, on --timeout or on SIGINT/SIGTERM, and leaves no process or run directory behind.

import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, type LaunchOptions } from './args.js';
import { describeEnding, exitStatus, signalNumber, type Ending } from './describe.js';
import { hostAddress, localRankEnv, rankVariables, resolveExports, tcpUrl, type JobEnv } from './env.js';
import { parseHostfile, placeLocal, placeRanks, type Placement } from './hosts.js';
import { LineWriter, type Sink } from './output.js';
import { programCommand } from './program.js';
import { Reaper } from './reaper.js';
import { makeRunDir, removeRunDir } from './rundir.js';
import { shellJoin, shellSplit } from './shell.js';
import { mergeTraceDir } from './trace-merge.js';
import { makeJobKeys, writeKeyFile } from '../../src/comm/security.js';

export const TIMEOUT_EXIT = 110;
/** Time between SIGTERM and SIGKILL when stopping ranks. */
const GRACE_MS = 2000;
/** Time a rank that failed first gets to end on its own when the first exit we saw was a consequence of it. */
const CAUSE_GRACE_MS = 300;
/** Time ranks get to print what they are blocked in after SIGUSR2, before the job is stopped. */
const DUMP_MS = 1000;
/** Longest wait for a process after SIGKILL, or for output pipes after exit: every wait is bounded. */
const LAST_WAIT_MS = 3000;
const GUARD = fileURLToPath(new URL('./remote-guard.mjs', import.meta.url));

export interface JobIO { stdout: Sink; stderr: Sink; env: NodeJS.ProcessEnv; cwd: string }

interface Rank {
  p: Placement;
  child: ChildProcess;
  pid?: number;
  ending?: Ending;
  stopSent: boolean;      // we asked it to stop: its death is not a failure of its own
  sent: Set<NodeJS.Signals>; // signals we sent it
  failed: boolean;
  lateFailure: boolean;   // ended on its own (not by our signal) after the job had begun to stop
  secondary: boolean;     // it had seen a peer fail before it ended (the communicator's marker in the run dir)
  closed: boolean;        // stdio pipes finished
  writers: LineWriter[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function groupAlive(pgid: number): boolean {
  try { process.kill(-pgid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Where the ranks go, from the hostfile or this machine. */
function placements(opts: LaunchOptions, cwd: string): Placement[] {
  if (opts.hostfile === undefined) return placeLocal(opts.np ?? os.availableParallelism());
  const file = path.resolve(cwd, opts.hostfile);
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch (err) {
    throw new UsageError(`cannot read hostfile ${opts.hostfile}: ${(err as Error).message}`);
  }
  const hosts = parseHostfile(text, opts.hostfile);
  return placeRanks(opts.np ?? hosts.reduce((s, h) => s + h.slots, 0), hosts, opts.oversubscribe);
}

class Job {
  private ranks: Rank[] = [];
  private stopping = false;
  private timedOut = false;
  private launcherSignal?: NodeJS.Signals;
  private timers: NodeJS.Timeout[] = [];
  private done!: () => void;
  private finished = new Promise<void>((r) => { this.done = r; });

  constructor(private readonly opts: LaunchOptions, private readonly io: JobIO, private readonly job: JobEnv,
    private readonly command: string[], private readonly places: Placement[]) {}

  private log(msg: string): void {
    this.io.stderr.write(`darray-run: ${msg}\n`);
  }

  async run(): Promise<number> {
    const onSignal = (sig: NodeJS.Signals) => this.onLauncherSignal(sig);
    const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const s of sigs) process.on(s, onSignal);
    // Last resort if the launcher itself crashes: no rank group survives it.
    const onExit = () => {
      for (const r of this.ranks) if (r.pid && !r.ending) this.kill(r, 'SIGKILL');
      removeRunDir(this.job.rundir);
    };
    process.on('exit', onExit);
    try {
      const reaper = new Reaper(this.job.rundir);
      // Synchronous: a signal is handled only after every rank was started, so none is missed when stopping.
      for (const p of this.places) {
        const rank = this.spawnRank(p);
        this.ranks.push(rank);
        if (rank.pid) reaper.watch(rank.pid);
      }
      if (this.opts.timeout !== undefined) {
        this.timers.push(setTimeout(() => this.onTimeout(), this.opts.timeout * 1000));
      }
      this.checkAllExited();
      await this.finished;
      await this.reapGroups();
      await this.waitOutputs();
      removeRunDir(this.job.rundir);
      reaper.done();
      return this.exitCode();
    } finally {
      for (const t of this.timers) clearTimeout(t);
      for (const s of sigs) process.off(s, onSignal);
      process.off('exit', onExit);
    }
  }

  private spawnRank(p: Placement): Rank {
    const vars = rankVariables(this.job, p, this.io.env);
    let child: ChildProcess;
    const keys = this.job.keys?.[p.rank];
    if (p.local) {
      if (keys) writeKeyFile(vars.DARRAY_KEYFILE, keys);
      child = spawn(this.command[0], this.command.slice(1), {
        cwd: this.io.cwd, env: localRankEnv(this.job, p, this.io.env), stdio: ['ignore', 'pipe', 'pipe'], detached: true,
      });
    } else {
      // `<agent> host env VAR=... node remote-guard.mjs RUNDIR cmd...`, one string as ssh expects.
      const remote = shellJoin(['env', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
        process.execPath, GUARD, vars.DARRAY_RUNDIR, ...this.command]);
      const agent = shellSplit(this.opts.launchAgent);
      child = spawn(agent[0], [...agent.slice(1), p.host, remote], {
        cwd: this.io.cwd, env: this.io.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true,
      });
      child.stdin!.on('error', () => { /* the agent is gone; its exit is handled below */ });
      // The remote guard writes these to its 0600 DARRAY_KEYFILE before it starts the rank: through the agent's
      // stdin, so the keys never appear on a command line or in an environment.
      if (keys) child.stdin!.write(`KEYS ${Buffer.from(JSON.stringify(keys)).toString('base64')}\n`);
    }
    const prefix = this.opts.tagOutput ? `[${p.rank}] ` : '';
    const rank: Rank = { p, child, pid: child.pid, stopSent: false, sent: new Set(), failed: false, lateFailure: false, secondary: false, closed: false,
      writers: [new LineWriter(prefix, this.io.stdout), new LineWriter(prefix, this.io.stderr)] };
    // When our own output is full, stop reading the rank (its pipe fills and it waits) instead of buffering.
    const relay = (from: NodeJS.ReadableStream, writer: LineWriter, to: Sink) => from.on('data', (b: Buffer) => {
      if (!writer.push(b)) this.pauseUntilDrain(from, to);
    });
    relay(child.stdout!, rank.writers[0], this.io.stdout);
    relay(child.stderr!, rank.writers[1], this.io.stderr);
    child.on('close', () => { rank.closed = true; });
    child.on('exit', (code, signal) => this.onRankExit(rank, { code, signal }));
    child.on('error', (err) => {
      // Spawn failures come here without an exit event.
      if (rank.ending === undefined && child.pid === undefined) {
        rank.closed = true;
        this.onRankExit(rank, { code: null, signal: null, error: err.message });
      }
    });
    return rank;
  }

  /** One 'drain' listener per sink, however many ranks wait on it. */
  private paused = new Map<Sink, NodeJS.ReadableStream[]>();
  private pauseUntilDrain(from: NodeJS.ReadableStream, to: Sink): void {
    if (!to.once) return;
    let waiting = this.paused.get(to);
    if (!waiting) {
      const list: NodeJS.ReadableStream[] = [];
      waiting = list;
      this.paused.set(to, list);
      to.once('drain', () => {
        this.paused.delete(to);
        for (const s of list) s.resume();
      });
    }
    waiting.push(from);
    from.pause();
  }

  private where(r: Rank): string {
    return `rank ${r.p.rank} (host ${r.p.host}${r.pid ? `, pid ${r.pid}` : ''})`;
  }

  private onRankExit(r: Rank, e: Ending): void {
    if (r.ending) return;
    r.ending = e;
    const abnormal = e.error !== undefined || e.signal !== null || e.code !== 0;
    r.secondary = r.p.local && fs.existsSync(path.join(this.job.rundir, `lost-${r.p.rank}`));
    if (abnormal && r.stopSent && !this.timedOut && !(e.signal && r.sent.has(e.signal))) {
      // Ranks fail together when one takes others down with it, and their exits can reach us in any order: a
      // rank that ended on its own after the stop began may be the one that failed first.
      r.lateFailure = true;
      this.log(`${this.where(r)} ${describeEnding(e)} (while the job was stopping${r.secondary ? ', after losing a peer' : ''})`);
    }
    if (abnormal && !r.stopSent) {
      r.failed = true;
      this.log(`${this.where(r)} ${describeEnding(e)}`);
      const others = this.ranks.filter((x) => !x.ending).length;
      if (!this.stopping && others > 0) this.log(`stopping the other ${others} rank${others === 1 ? '' : 's'}`);
      // A rank that failed after losing a peer is a consequence: the peer that failed first may still be
      // dying on its own (printing its error). Give it a moment, so that our SIGTERM does not hide its failure.
      if (r.secondary && !this.stopping) this.timers.push(setTimeout(() => this.stopAll(), CAUSE_GRACE_MS));
      else this.stopAll();
    }
    this.checkAllExited();
  }

  private checkAllExited(): void {
    if (this.ranks.length === this.places.length && this.ranks.every((r) => r.ending)) this.done();
  }

  /** Sends a signal to a rank: to its process group here, or through the remote guard's stdin. */
  private kill(r: Rank, sig: NodeJS.Signals): void {
    if (!r.pid || r.ending) return;
    r.sent.add(sig);
    if (!r.p.local) {
      const stdin = r.child.stdin!;
      if (!stdin.writableEnded) stdin.write(`${sig.replace(/^SIG/, '')}\n`);
      if (sig === 'SIGKILL') {
        stdin.end();
        // The guard got its KILL line; now the agent itself (ssh here, the guard too when it is local).
        this.timers.push(setTimeout(() => { try { process.kill(-r.pid!, 'SIGKILL'); } catch { /* gone */ } }, 500));
      }
      return;
    }
    try {
      // SIGUSR2 asks the rank itself for its dump; its helpers would only be killed by it.
      if (sig === 'SIGUSR2') process.kill(r.pid, sig); else process.kill(-r.pid, sig);
    } catch { /* already gone */ }
  }

  private stopAll(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const r of this.ranks) {
      if (r.ending) continue;
      r.stopSent = true;
      this.kill(r, 'SIGTERM');
    }
    this.timers.push(setTimeout(() => {
      for (const r of this.ranks) if (!r.ending) this.kill(r, 'SIGKILL');
      this.timers.push(setTimeout(() => {
        for (const r of this.ranks) {
          if (!r.ending) {
            this.log(`${this.where(r)} did not exit after SIGKILL; giving up on it`);
            r.ending = { code: null, signal: 'SIGKILL' };
          }
        }
        this.done();
      }, LAST_WAIT_MS));
    }, GRACE_MS));
    this.checkAllExited();
  }

  private onTimeout(): void {
    if (this.stopping || this.timedOut) return;
    this.timedOut = true;
    this.log(`timeout: the job ran longer than ${this.opts.timeout} s; asking every rank what it is blocked in, then stopping it (exit ${TIMEOUT_EXIT})`);
    for (const r of this.ranks) {
      if (r.ending) continue;
      r.stopSent = true;
      this.kill(r, 'SIGUSR2');
    }
    this.timers.push(setTimeout(() => this.stopAll(), DUMP_MS));
  }

  private onLauncherSignal(sig: NodeJS.Signals): void {
    if (this.stopping && this.launcherSignal) {
      // A second signal: the user wants out now.
      for (const r of this.ranks) if (!r.ending) this.kill(r, 'SIGKILL');
      return;
    }
    this.launcherSignal ??= sig;
    this.log(`received ${sig}; stopping all ranks`);
    this.stopAll();
  }

  /** Processes a rank left behind in its group (its own children) are stopped too. */
  private async reapGroups(): Promise<void> {
    const alive = () => this.ranks.filter((r) => r.pid && r.p.local && groupAlive(r.pid));
    if (alive().length === 0) return;
    for (const r of alive()) try { process.kill(-r.pid!, 'SIGTERM'); } catch { /* gone */ }
    for (let t = 0; t < GRACE_MS && alive().length > 0; t += 50) await sleep(50);
    for (const r of alive()) {
      this.log(`${this.where(r)} left processes behind; killing them`);
      try { process.kill(-r.pid!, 'SIGKILL'); } catch { /* gone */ }
    }
  }

  private async waitOutputs(): Promise<void> {
    for (let t = 0; t < LAST_WAIT_MS && !this.ranks.every((r) => r.closed); t += 20) await sleep(20);
    for (const r of this.ranks) {
      // A pipe still open here belongs to a process we could not reach; stop reading it.
      r.child.stdout?.destroy();
      r.child.stderr?.destroy();
      r.child.stdin?.destroy();
      for (const w of r.writers) w.flush();
    }
  }

  /**
   * The lowest failing rank's code. A rank that failed only because it lost a peer is a consequence: when some
   * failed rank had not lost one (the cause), the cause is reported, even if its exit reached us second.
   */
  private exitCode(): number {
    const failed = this.ranks.filter((r) => r.failed).sort((a, b) => a.p.rank - b.p.rank);
    if (failed.length > 0) {
      const causes = this.ranks.filter((r) => (r.failed || r.lateFailure) && !r.secondary).sort((a, b) => a.p.rank - b.p.rank);
      const cause = causes.find((r) => r.failed) ?? causes[0] ?? failed[0];
      if (cause !== failed[0]) this.log(`reporting ${this.where(cause)}: ${this.where(failed[0])} failed after losing a peer`);
      return exitStatus(cause.ending!);
    }
    if (this.timedOut) return TIMEOUT_EXIT;
    if (this.launcherSignal) return 128 + signalNumber(this.launcherSignal);
    return 0;
  }
}

/** Runs the job described by `opts` and resolves to the launcher's exit code. Throws UsageError. */
export async function runJob(opts: LaunchOptions, io: JobIO = {
  stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(),
}): Promise<number> {
  if (opts.program === undefined) throw new UsageError('no program given');
  const places = placements(opts, io.cwd);
  const command = programCommand(opts.program, opts.programArgs, io.cwd, io.env.PATH);
  let exports: Record<string, string>;
  try { exports = resolveExports(opts.exports, io.env); } catch (err) { throw new UsageError((err as Error).message); }
  const multiHost = places.some((p) => !p.local);
  if (multiHost) {
    try { shellSplit(opts.launchAgent); } catch (err) { throw new UsageError(`--launch-agent: ${(err as Error).message}`); }
  }
  // Ranks see only pipes: tell rank 0 that progress lines would reach a terminal.
  if (io.env.DARRAY_PROGRESS === undefined && (io.stderr as { isTTY?: boolean }).isTTY) io = { ...io, env: { ...io.env, DARRAY_PROGRESS: '1' } };
  const rundir = makeRunDir();
  try {
    const root = multiHost ? tcpUrl(hostAddress(places[0].host, true), await freePort()) : `ipc://${rundir}/root.sock`;
    let traceDir: string | undefined;
    if (opts.trace !== undefined) {
      traceDir = `${path.resolve(io.cwd, opts.trace)}.parts`;
      fs.mkdirSync(traceDir, { recursive: true });
    }
    const job: JobEnv = { jobId: crypto.randomBytes(8).toString('hex'), size: places.length, root, rundir,
      transport: multiHost ? 'tcp' : 'ipc', traceDir, exports, bind: opts.bindTo, keys: multiHost ? makeJobKeys(places.length) : undefined };
    const code = await new Job(opts, io, job, command, places).run();
    return traceDir === undefined ? code : finishTrace(traceDir, path.resolve(io.cwd, opts.trace!), code, io);
  } finally {
    removeRunDir(rundir);
  }
}

/** Merges the ranks' trace parts into the --trace file; a job that succeeded fails (1) if its trace cannot be merged. */
function finishTrace(partsDir: string, out: string, code: number, io: JobIO): number {
  let parts: string[] = [];
  try { parts = fs.readdirSync(partsDir).filter((f) => /^rank-\d+\.json$/.test(f)); } catch { /* reported below */ }
  if (parts.length === 0) {
    // A program that never started darray (or ranks that died before init) has nothing to trace: not an error.
    io.stderr.write(`darray-run: no trace written to ${out}: no rank wrote a trace part to ${partsDir}\n`);
    return code;
  }
  try {
    const r = mergeTraceDir(partsDir, out);
    const lost = r.missing.length ? `; no part from rank(s) ${r.missing.join(',')}` : '';
    io.stderr.write(`darray-run: trace written to ${out} (${r.ranks} rank(s), ${r.events} spans, ${r.flows} messages paired${lost})\n`);
    return code;
  } catch (err) {
    io.stderr.write(`darray-run: no trace written to ${out}: ${(err as Error).message} (parts kept in ${partsDir})\n`);
    return code === 0 ? 1 : code;
  }
}
