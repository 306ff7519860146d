// Where this process stands in the job: rank, size, rendezvous address and job id, read from our launcher,
// Open MPI, Slurm or PMI variables (docs/internal-interfaces.md). Pure parsing; init() does the I/O.
import { createHash } from 'node:crypto';
import { CommError } from '../errors.js';

/** Who set up this process. */
export type EnvSource = 'darray' | 'ompi' | 'slurm' | 'pmi' | 'lone';

/** Everything init() needs to join the job. */
export interface RankEnv {
  source: EnvSource;
  rank: number;
  size: number;
  jobId: string;
  epoch: number;
  root: string; // rendezvous address of rank 0; '' for a job of one rank
  transport: 'ipc' | 'tcp';
  rundir: string; // directory for this job's ipc sockets ('' for tcp jobs)
  ownsRundir: boolean; // true when no launcher of ours made rundir: the ranks make it and rank 0 removes it
  host: string; // address other ranks reach this one at (tcp)
  keyFile: string; // tcp jobs of our launcher: private 0600 file with this rank's CURVE keys ('' when none)
  localRank: number;
  localSize: number;
  peerTimeoutMs: number;
  connectTimeoutMs: number;
}

/** Facts about the machine the pure parser needs, passed in so that tests can vary them. */
export interface SysInfo {
  uid: number;
  tmpdir: string;
  hostname: string;
}

type Vars = Record<string, string | undefined>;

function int(vars: Vars, name: string, min: number, dflt?: number): number {
  const raw = vars[name];
  if (raw === undefined || raw === '') {
    if (dflt !== undefined) return dflt;
    throw new CommError(`environment variable ${name} is missing`, { op: 'init' });
  }
  const n = Number(raw.trim());
  if (!/^\s*-?\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < min) {
    throw new CommError(`environment variable ${name}=${JSON.stringify(raw)} is not an integer >= ${min}`, { op: 'init' });
  }
  return n;
}

/** A job id made safe and short enough for a directory name inside an ipc socket path (108-byte limit). */
export function safeJobDir(jobId: string): string {
  const clean = jobId.replace(/[^A-Za-z0-9._-]/g, '_');
  if (clean.length <= 24 && clean !== '' && clean !== '.' && clean !== '..') return clean;
  return createHash('sha256').update(jobId).digest('hex').slice(0, 24);
}

/** The id of a job started by a foreign launcher, from that launcher's own variables; undefined if none. */
export function foreignJobId(source: EnvSource, vars: Vars): string | undefined {
  const first = (...names: string[]): string | undefined => {
    for (const n of names) if (vars[n]) return `${n}=${vars[n]}`;
    return undefined;
  };
  switch (source) {
    case 'ompi':
      return first('PMIX_NAMESPACE', 'OMPI_MCA_ess_base_jobid', 'OMPI_MCA_orte_ess_jobid', 'OMPI_MCA_orte_hnp_uri');
    case 'slurm':
      return vars.SLURM_JOB_ID ? `slurm-${vars.SLURM_JOB_ID}.${vars.SLURM_STEP_ID ?? '0'}` : undefined;
    case 'pmi':
      return first('PMI_JOBID', 'PMIX_NAMESPACE', 'PMI_KVSNAME', 'PMI_PORT');
    default:
      return undefined;
  }
}

function schemeOf(addr: string): 'ipc' | 'tcp' {
  if (addr.startsWith('ipc://')) return 'ipc';
  if (addr.startsWith('tcp://')) return 'tcp';
  throw new CommError(`DARRAY_ROOT=${JSON.stringify(addr)} must start with ipc:// or tcp://`, { op: 'init' });
}

function ipcDir(addr: string): string {
  const path = addr.slice('ipc://'.length);
  const slash = path.lastIndexOf('/');
  return slash > 0 ? path.slice(0, slash) : '';
}

/**
 * Reads rank, size and rendezvous from the environment. Order: DARRAY_RANK (our launcher), Open MPI, Slurm,
 * PMI, else a lone process (rank 0 of 1). Throws CommError naming the variable that is wrong.
 */
export function detectEnv(vars: Vars, sys: SysInfo): RankEnv {
  let source: EnvSource;
  let rank: number;
  let size: number;
  let localRank: number | undefined;
  let localSize: number | undefined;
  if (vars.DARRAY_RANK !== undefined && vars.DARRAY_RANK !== '') {
    source = 'darray';
    size = int(vars, 'DARRAY_SIZE', 1);
    rank = int(vars, 'DARRAY_RANK', 0);
    localRank = int(vars, 'DARRAY_LOCAL_RANK', 0, rank);
    localSize = int(vars, 'DARRAY_LOCAL_SIZE', 1, size);
  } else if (vars.OMPI_COMM_WORLD_RANK !== undefined && vars.OMPI_COMM_WORLD_RANK !== '') {
    source = 'ompi';
    size = int(vars, 'OMPI_COMM_WORLD_SIZE', 1);
    rank = int(vars, 'OMPI_COMM_WORLD_RANK', 0);
    localRank = int(vars, 'OMPI_COMM_WORLD_LOCAL_RANK', 0, rank);
    localSize = int(vars, 'OMPI_COMM_WORLD_LOCAL_SIZE', 1, size);
  } else if (vars.SLURM_PROCID !== undefined && vars.SLURM_PROCID !== '') {
    source = 'slurm';
    size = int(vars, 'SLURM_NTASKS', 1);
    rank = int(vars, 'SLURM_PROCID', 0);
    localRank = int(vars, 'SLURM_LOCALID', 0, 0);
    localSize = int(vars, 'SLURM_NTASKS_PER_NODE', 1, 1);
  } else if (vars.PMI_RANK !== undefined && vars.PMI_RANK !== '') {
    source = 'pmi';
    size = int(vars, 'PMI_SIZE', 1);
    rank = int(vars, 'PMI_RANK', 0);
    localRank = 0;
    localSize = 1;
  } else {
    source = 'lone';
    size = 1;
    rank = 0;
  }
  if (rank >= size) {
    throw new CommError(`rank ${rank} is not below the job size ${size} (set by ${source} variables)`, { op: 'init' });
  }
  const epoch = int(vars, 'DARRAY_EPOCH', 0, 0);
  const peerTimeoutMs = int(vars, 'DARRAY_PEER_TIMEOUT_MS', 1, 10000);
  const connectTimeoutMs = int(vars, 'DARRAY_CONNECT_TIMEOUT_MS', 1, 60000);
  const base = {
    source, rank, size, epoch, peerTimeoutMs, connectTimeoutMs,
    localRank: localRank ?? 0,
    localSize: localSize ?? 1,
  };
  if (size === 1) {
    return { ...base, jobId: vars.DARRAY_JOB_ID || 'lone', root: '', transport: 'ipc', rundir: '', ownsRundir: false, host: '127.0.0.1', keyFile: '' };
  }

  let jobId: string;
  let root = vars.DARRAY_ROOT ?? '';
  if (source === 'darray') {
    if (!root) throw new CommError('environment variable DARRAY_ROOT is missing (set by the launcher)', { op: 'init', rank });
    jobId = vars.DARRAY_JOB_ID || root;
  } else {
    const foreign = foreignJobId(source, vars);
    jobId = vars.DARRAY_JOB_ID || foreign || root;
    if (!jobId) {
      throw new CommError(`no job id in the ${source} variables: set DARRAY_ROOT=tcp://host:port or DARRAY_JOB_ID`, {
        op: 'init',
        rank,
      });
    }
    if (!root) root = `ipc://${sys.tmpdir.replace(/\/+$/, '')}/darray-${sys.uid}/${safeJobDir(jobId)}/root.sock`;
  }
  const transport = schemeOf(root);
  if (vars.DARRAY_TRANSPORT && vars.DARRAY_TRANSPORT !== transport) {
    throw new CommError(`DARRAY_TRANSPORT=${vars.DARRAY_TRANSPORT} disagrees with DARRAY_ROOT=${root}`, { op: 'init', rank });
  }
  let rundir = '';
  let ownsRundir = false;
  if (transport === 'ipc') {
    rundir = vars.DARRAY_RUNDIR || ipcDir(root);
    ownsRundir = !vars.DARRAY_RUNDIR;
    if (!rundir) throw new CommError(`cannot place ipc sockets: DARRAY_ROOT=${root} has no directory`, { op: 'init', rank });
  }
  let host = vars.DARRAY_HOST || '';
  if (!host) {
    const rootHost = transport === 'tcp' ? root.slice('tcp://'.length).replace(/:\d+$/, '').replace(/^\[|\]$/g, '') : '';
    const loopback = rootHost === '' || rootHost === 'localhost' || rootHost.startsWith('127.') || rootHost === '::1';
    host = loopback ? '127.0.0.1' : sys.hostname;
  }
  const keyFile = transport === 'tcp' ? vars.DARRAY_KEYFILE ?? '' : '';
  return { ...base, jobId, root, transport, rundir, ownsRundir, host, keyFile };
}
