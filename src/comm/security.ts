// CURVE keys of a tcp job and its ZAP allow-list: the launcher makes one key pair per rank plus a server pair,
// hands each rank its keys in a private 0600 file, and every rank admits only clients holding one of the job's keys.
import { chmodSync, closeSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import * as zmq from 'zeromq';
import { CommError } from '../errors.js';

/** What one rank knows: the job's server pair (every rank serves), its own client pair, and the job's client keys. */
export interface JobKeys {
  serverPublic: string;
  serverSecret: string;
  public: string;
  secret: string;
  allow: string[]; // public keys of every rank of the job: the ZAP allow-list
}

/** ZAP domain our servers name; ZAP requests for any other domain are refused. */
export const ZAP_DOMAIN = 'darray';
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/** Fresh keys for a job of `size` ranks, one JobKeys per rank (the launcher calls this once per job). */
export function makeJobKeys(size: number): JobKeys[] {
  if (!zmq.capability.curve) throw new CommError('this zeromq build has no CURVE support: a multi-host job cannot be secured', { op: 'launch' });
  const server = zmq.curveKeyPair();
  const pairs = Array.from({ length: size }, () => zmq.curveKeyPair());
  const allow = pairs.map((p) => p.publicKey);
  return pairs.map((p) => ({ serverPublic: server.publicKey, serverSecret: server.secretKey, public: p.publicKey, secret: p.secretKey, allow }));
}

/** Writes one rank's keys to a new file readable by this user only (created 0600, never on a command line). */
export function writeKeyFile(path: string, keys: JobKeys): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, JSON.stringify(keys));
  } finally {
    closeSync(fd);
  }
  chmodSync(path, 0o600); // in case a umask or ACL widened it
}

/** Reads and checks a key file: owned by this user, mode 0600, well-formed Z85 keys. Throws CommError. */
export function readKeyFile(path: string, rank?: number): JobKeys {
  const bad = (why: string) => new CommError(`key file ${path}: ${why}`, { rank, op: 'init' });
  let text: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const st = fstatSync(fd);
      const uid = process.getuid?.();
      if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) throw bad(`must be owned by this user with mode 0600 (it is ${(st.mode & 0o777).toString(8)})`);
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof CommError) throw e;
    throw bad(`cannot be read: ${(e as Error).message}`);
  }
  let k: JobKeys;
  try {
    k = JSON.parse(text) as JobKeys;
  } catch {
    throw bad('is not JSON');
  }
  const keys = [k?.serverPublic, k?.serverSecret, k?.public, k?.secret, ...(Array.isArray(k?.allow) ? k.allow : [])];
  if (!Array.isArray(k?.allow) || k.allow.length === 0 || !keys.every((x) => typeof x === 'string' && Z85_KEY.test(x))) throw bad('does not hold 40-character Z85 CURVE keys');
  if (!k.allow.includes(k.public)) throw bad("this rank's own public key is not on the job's allow-list");
  return k;
}

/** Socket options of a listening (CURVE server) socket: the job's server key, ZAP through our handler. */
export function serverOptions(k: JobKeys): { curveServer: true; curveSecretKey: string; zapDomain: string } {
  return { curveServer: true, curveSecretKey: k.serverSecret, zapDomain: ZAP_DOMAIN };
}

/** Socket options of a connecting (CURVE client) socket: this rank's pair and the job's server key. */
export function clientOptions(k: JobKeys): { curveServerKey: string; curvePublicKey: string; curveSecretKey: string } {
  return { curveServerKey: k.serverPublic, curvePublicKey: k.public, curveSecretKey: k.secret };
}

/** What the ZAP handler decided so far in this process (tests and logs read it). */
export interface ZapStats {
  admitted: number;
  refused: number;
  reasons: string[]; // distinct reasons for refusals, first few
}

/**
 * The ZAP handler (RFC 27) of this process: a ROUTER at inproc://zeromq.zap.01 in zeromq's shared context that
 * admits a CURVE client only when its public key is on an allow-list. CURVE alone admits any client that knows
 * the server key; this closes that. One per process, shared by every transport in it (tests run two ranks in
 * one process): each `startZap` adds its job's keys and must be paired with a `stopZap`.
 */
class ZapHandler {
  readonly stats: ZapStats = { admitted: 0, refused: 0, reasons: [] };
  readonly allow = new Set<string>();
  users = 0;
  private readonly sock = new zmq.Router({ linger: 0 });

  constructor(private readonly log: (line: string) => void) {}

  async bind(): Promise<void> {
    await this.sock.bind('inproc://zeromq.zap.01');
    void this.serve();
  }

  private async serve(): Promise<void> {
    for (;;) {
      let f: Buffer[];
      try {
        f = await this.sock.receive();
      } catch {
        return; // closed
      }
      // [routing id, empty, version, request id, domain, address, identity, mechanism, credentials...]
      const [id, empty, version, requestId, domain, address, , mechanism, key] = f;
      let text = 'OK';
      if (version?.toString() !== '1.0') text = 'bad ZAP version';
      else if (domain?.toString() !== ZAP_DOMAIN) text = 'wrong ZAP domain';
      else if (mechanism?.toString() !== 'CURVE' || key?.length !== 32) text = 'CURVE required';
      else if (!this.allow.has(key.toString('hex'))) text = 'client key not in this job';
      if (text === 'OK') this.stats.admitted++;
      else {
        this.stats.refused++;
        if (!this.stats.reasons.includes(text) && this.stats.reasons.length < 8) this.stats.reasons.push(text);
        if (this.stats.refused <= 10) this.log(`refused a connection from ${address?.toString() || 'an unknown address'}: ${text}`);
      }
      const status = text === 'OK' ? '200' : '400';
      try {
        await this.sock.send([id, empty ?? Buffer.alloc(0), '1.0', requestId ?? Buffer.alloc(0), status, text, '', Buffer.alloc(0)]);
      } catch {
        return;
      }
    }
  }

  close(): void {
    this.sock.close();
  }
}

let zap: ZapHandler | undefined;
let zapStarting: Promise<void> | undefined;

/** Starts (or joins) this process's ZAP handler and adds `allow` (Z85 public keys) to its allow-list. */
export async function startZap(allow: readonly string[], log: (line: string) => void = () => undefined): Promise<void> {
  if (!zap) {
    zap = new ZapHandler(log);
    zapStarting = zap.bind();
  }
  zap.users++;
  for (const k of allow) zap.allow.add(Buffer.from(z85Decode(k)).toString('hex'));
  await zapStarting;
}

/** Leaves the ZAP handler; the last user closes it. */
export function stopZap(): void {
  if (!zap || --zap.users > 0) return;
  zap.close();
  zap = undefined;
  zapStarting = undefined;
}

/** Counts of this process's ZAP decisions (zeros when no handler ever ran). */
export function zapStats(): ZapStats {
  return zap ? { ...zap.stats, reasons: [...zap.stats.reasons] } : { admitted: 0, refused: 0, reasons: [] };
}

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
/** Z85 (ZeroMQ RFC 32) decoding of a 40-character key into its 32 bytes. */
export function z85Decode(s: string): Uint8Array {
  if (s.length % 5 !== 0) throw new CommError(`Z85 text of ${s.length} characters is not a multiple of 5`, { op: 'init' });
  const out = new Uint8Array((s.length / 5) * 4);
  for (let i = 0, o = 0; i < s.length; i += 5) {
    let v = 0;
    for (let j = 0; j < 5; j++) {
      const d = Z85.indexOf(s[i + j]);
      if (d < 0) throw new CommError(`bad Z85 character ${JSON.stringify(s[i + j])}`, { op: 'init' });
      v = v * 85 + d;
    }
    out[o++] = (v >>> 24) & 255;
    out[o++] = (v >>> 16) & 255;
    out[o++] = (v >>> 8) & 255;
    out[o++] = v & 255;
  }
  return out;
}
