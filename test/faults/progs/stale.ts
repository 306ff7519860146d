// Issue 6, item 5: stale mail. Run at 2 ranks with DARRAY_EPOCH=1 (the job's second incarnation). Rank 0 also plays
// a ghost: through its data socket to rank 1, bypassing its transport, it sends mail of the previous incarnation (epoch
// 0), mail of another job, and a replay of a sequence number already used. Rank 1 must receive only the real
// messages, in order, and count the refused ones. Prints "stale:" lines.
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { encodeBody, encodeHeader, jobHash, type Header } from '../../../src/comm/wire.js';
import { finalize, init } from '../../../src/comm/index.js';

const comm = await init();
const { rank, size } = comm;
assert.equal(size, 2, 'stale runs at 2 ranks');
const epoch = Number(process.env.DARRAY_EPOCH ?? 0);
assert.equal(epoch, 1, 'run with -x DARRAY_EPOCH=1');
const job = jobHash(process.env.DARRAY_JOB_ID ?? '');
const transport = (comm as unknown as { transport: { dropped: number } }).transport;
const TAG = 5;
const N = 10;

/** Frames exactly as rank 0's transport would build them, with chosen job, epoch and sequence. */
function forged(value: string, h: Partial<Header>): Buffer[] {
  const body = encodeBody(value);
  const head: Header = { job, epoch, ctx: 0, src: 0, tag: TAG, seq: 0, kind: body.kind, dtype: body.dtype, length: body.length, nframes: body.frames.length, ...h };
  return [encodeHeader(head), ...body.frames];
}

if (rank === 0) {
  // Some real traffic first, so that sequence numbers 0..N-1 are spent.
  for (let k = 0; k < N; k++) await comm.send(`early-${k}`, 1, TAG);
  await comm.barrier();
  // The ghost speaks through rank 0's own data socket to rank 1: rank 1 knows its senders by the routing id
  // each rank's socket announces, so only that socket can carry mail that claims to be rank 0's.
  const ghost = (comm as unknown as { transport: { peers: { data: { sock: zmq.Dealer } }[] } }).transport.peers[1].data.sock;
  await ghost.send(forged('stale: previous incarnation', { epoch: epoch - 1, seq: N })); // the next seq, but old epoch
  await ghost.send(forged('stale: replayed sequence', { seq: 3 })); // current epoch, a sequence already used
  await ghost.send(forged('stale: another job', { job: jobHash('some other job'), seq: N }));
  await new Promise((r) => setTimeout(r, 500)); // the ghost's mail reaches rank 1 before the real mail below
  for (let k = 0; k < N; k++) await comm.send(`fresh-${k}`, 1, TAG);
  await comm.send('end', 1, TAG);
} else {
  for (let k = 0; k < N; k++) assert.equal(await comm.recv(0, TAG), `early-${k}`);
  const before = transport.dropped;
  await comm.barrier();
  const got: unknown[] = [];
  for (;;) {
    const v = await comm.recv(0, TAG);
    got.push(v);
    if (v === 'end') break;
  }
  const refused = transport.dropped - before;
  console.log(`stale: rank 1 received ${got.length} messages after the ghost's mail, refused ${refused}: ${JSON.stringify(got.filter((v) => String(v).startsWith('stale')))}`);
  assert.deepEqual(got, [...Array.from({ length: N }, (_, k) => `fresh-${k}`), 'end'], 'a stale or foreign message was delivered');
  assert.ok(refused >= 3, `only ${refused} of the ghost's 3 messages were counted as refused`);
}
await finalize();
