// spmd: ranks=2,3,4 timeout=60
// SPMD test of failure detection: the last rank stops itself (SIGSTOP, a hung peer); on every other rank the
// pending receive, any-source receive and a send to it reject with PeerFailedError naming it within
// DARRAY_PEER_TIMEOUT_MS + 1 s, traffic among the survivors goes on, and the resumed rank sees the others lost.
import assert from 'node:assert/strict';
// Before init: the whole job uses a 1 s bound, unless the job names another (slow links: see test/netns).
process.env.DARRAY_PEER_TIMEOUT_MS ??= '1000';
const TIMEOUT_MS = Number(process.env.DARRAY_PEER_TIMEOUT_MS);
const { ANY_SOURCE, finalize, init } = await import('../../src/comm/index.js');
const { PeerFailedError } = await import('../../src/errors.js');

const comm = await init();
const { rank, size } = comm;
const victim = size - 1;

const isLoss = (peer: number) => (e: unknown) =>
  e instanceof PeerFailedError && e.peer === peer && e.message.includes(`peer ${peer} failed`) && e.message.includes(`rank ${rank}`);

if (rank === victim) {
  await comm.send(process.pid, 0, 1);
  await comm.recv(0, 2); // the go-ahead: every survivor has posted its receives
  process.kill(process.pid, 'SIGSTOP'); // rank 0 continues us once every survivor has seen us fail
  // Resumed: the survivors have written us off and leave; a receive from rank 0 fails instead of hanging.
  const t0 = Date.now();
  await assert.rejects(comm.recv(0, 3), isLoss(0));
  console.log(`rank ${rank}: saw rank 0 lost ${Date.now() - t0} ms after resuming`);
} else {
  const exact = comm.recv(victim, 5);
  const any = comm.recv(ANY_SOURCE, 6);
  exact.catch(() => undefined);
  any.catch(() => undefined);
  let t0: number;
  if (rank === 0) {
    const pid = await comm.recv<number>(victim, 1);
    for (let r = 1; r < victim; r++) assert.equal(await comm.recv(r, 7), 'posted');
    t0 = Date.now();
    await comm.send('go', victim, 2);
    await assert.rejects(exact, isLoss(victim));
    const dt = Date.now() - t0;
    console.log(`rank 0: victim ${victim} declared lost after ${dt} ms (bound ${TIMEOUT_MS} ms + 1 s)`);
    assert.ok(dt <= TIMEOUT_MS + 1000, `detection took ${dt} ms, over ${TIMEOUT_MS} ms + 1 s`);
    await assert.rejects(any, isLoss(victim));
    // the survivors report, then the victim may resume
    for (let r = 1; r < victim; r++) assert.equal(await comm.recv(r, 9), `rank ${r} saw ${victim} lost`);
    process.kill(pid, 'SIGCONT');
  } else {
    t0 = Date.now();
    await comm.send('posted', 0, 7);
    await assert.rejects(exact, isLoss(victim));
    const dt = Date.now() - t0;
    console.log(`rank ${rank}: victim ${victim} declared lost after ${dt} ms`);
    assert.ok(dt <= TIMEOUT_MS + 1000 + 500, `detection took ${dt} ms`); // t0 precedes the go-ahead by a hop
    await assert.rejects(any, isLoss(victim));
    await comm.send(`rank ${rank} saw ${victim} lost`, 0, 9);
  }
  // Future operations that need the lost rank fail at once; those among survivors still work.
  await assert.rejects(comm.send(new Float64Array(4), victim, 5), isLoss(victim));
  await assert.rejects(comm.recv(victim, 5), isLoss(victim));
  await assert.rejects(comm.recv(ANY_SOURCE, 8), isLoss(victim));
  if (victim > 1) {
    const [to, from] = [(rank + 1) % victim, (rank + victim - 1) % victim]; // a ring over the survivors
    const [, got] = await Promise.all([comm.send(new Int32Array([rank]), to, 11), comm.recv<Int32Array>(from, 11)]);
    assert.equal(got[0], from);
  }
}
await finalize();
console.log(`comm-failure ok at rank ${rank} of ${size}`);
