// Unit tests of MPI message matching (src/comm/p2p.ts): order of posted receives and of the unexpected
// queue, ANY_SOURCE/ANY_TAG, per-(source, tag) order, and rejection when a peer is lost.
import assert from 'node:assert/strict';
import { PeerFailedError } from '../../src/errors.js';
import { Matcher, type Incoming } from '../../src/comm/p2p.js';
import { ANY_SOURCE, ANY_TAG } from '../../src/comm/tags.js';

const mk = () => new Matcher((peer, op, tag) => new PeerFailedError(`peer ${peer} failed`, { rank: 0, op, peer, tag }));
const msg = (src: number, tag: number, data: unknown, ctx = 0): Incoming => ({ ctx, src, tag, data, bytes: 8 });

describe('comm message matching', () => {
  it('delivers queued messages in arrival order per (source, tag)', async () => {
    const m = mk();
    for (let i = 0; i < 5; i++) m.arrive(msg(1, 3, i));
    const got = [];
    for (let i = 0; i < 5; i++) got.push((await m.post(0, 1, 3, 'recv')).data);
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
  });

  it('posted receives are matched in the order posted', async () => {
    const m = mk();
    const a = m.post(0, ANY_SOURCE, ANY_TAG, 'recv');
    const b = m.post(0, 2, ANY_TAG, 'recv');
    m.arrive(msg(2, 9, 'first'));
    m.arrive(msg(2, 9, 'second'));
    assert.equal((await a).data, 'first');
    assert.equal((await b).data, 'second');
  });

  it('a receive for a specific tag skips other tags, which stay queued in order', async () => {
    const m = mk();
    m.arrive(msg(1, 1, 'a'));
    m.arrive(msg(1, 2, 'b'));
    m.arrive(msg(1, 1, 'c'));
    assert.equal((await m.post(0, 1, 2, 'recv')).data, 'b');
    assert.equal((await m.post(0, ANY_SOURCE, ANY_TAG, 'recv')).data, 'a');
    assert.equal((await m.post(0, 1, 1, 'recv')).data, 'c');
  });

  it('contexts never see each other', async () => {
    const m = mk();
    m.arrive(msg(1, 0, 'ctx2', 2));
    const p = m.post(0, ANY_SOURCE, ANY_TAG, 'recv');
    let done = false;
    void p.then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false);
    m.arrive(msg(1, 0, 'ctx0', 0));
    assert.equal((await p).data, 'ctx0');
    assert.equal((await m.post(2, 1, 0, 'recv')).data, 'ctx2');
  });

  it('a lost peer rejects receives that need it, but queued mail from it is still delivered', async () => {
    const m = mk();
    m.registerContext(0, [0, 1, 2]);
    m.registerContext(4, [0, 2]);
    m.arrive(msg(1, 5, 'before'));
    const exact = m.post(0, 1, 6, 'recv');
    const any = m.post(0, ANY_SOURCE, 7, 'recv');
    const other = m.post(4, ANY_SOURCE, 7, 'recv'); // rank 1 is not a member of context 4
    m.failPeer(1);
    await assert.rejects(exact, (e: unknown) => e instanceof PeerFailedError && /peer 1 failed/.test((e as Error).message) && (e as PeerFailedError).tag === 6);
    await assert.rejects(any, PeerFailedError);
    assert.equal((await m.post(0, 1, 5, 'recv')).data, 'before');
    await assert.rejects(m.post(0, 1, 5, 'recv'), PeerFailedError);
    m.arrive(msg(2, 7, 'fine', 4));
    assert.equal((await other).data, 'fine');
  });

  it('counts queued bytes per source and calls onConsume when a receive takes the message', async () => {
    const m = mk();
    let consumed = 0;
    m.arrive({ ...msg(3, 0, 'x'), bytes: 100, onConsume: () => consumed++ });
    assert.equal(m.queued(3), 100);
    await m.post(0, 3, 0, 'recv');
    assert.equal(m.queued(3), 0);
    assert.equal(consumed, 1);
  });

  it('freeing a context rejects its receives and forgets its state', async () => {
    const m = mk();
    m.registerContext(6, [0, 1]);
    const p = m.post(6, 1, 0, 'recv');
    m.arrive(msg(1, 1, 'stale', 6));
    m.freeContext(6, new Error('freed'));
    await assert.rejects(p, /freed/);
    assert.equal(m.isRegistered(6), false);
    assert.equal(m.queued(1), 0);
    assert.equal(m.contextCount, 0);
  });

  it('lists pending receives for the SIGUSR2 dump', () => {
    const m = mk();
    void m.post(2, 1, 4, 'allreduce');
    const [p] = m.pending();
    assert.deepEqual([p.op, p.ctx, p.src, p.tag], ['allreduce', 2, 1, 4]);
  });
});
