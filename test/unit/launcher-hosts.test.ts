// Unit tests of hostfile parsing and rank placement (scripts/launcher/hosts.ts).

import assert from 'node:assert/strict';
import os from 'node:os';
import { UsageError } from '../../scripts/launcher/args.js';
import { isLocalHost, parseHostfile, placeLocal, placeRanks } from '../../scripts/launcher/hosts.js';

describe('launcher hostfile and placement', () => {
  it('parses hosts, slots, comments and blank lines; a repeated host adds slots', () => {
    const hosts = parseHostfile('# cluster\nnode1 slots=4\n\n  node2   # no slots: 1\nnode1 slots=2 max_slots=8\n', 'hf');
    assert.deepEqual(hosts, [
      { host: 'node1', slots: 6, slotsGiven: true },
      { host: 'node2', slots: 1, slotsGiven: false },
    ]);
    assert.equal(parseHostfile('localhost')[0].slots, os.availableParallelism());
  });

  it('names the file and line of a mistake', () => {
    assert.throws(() => parseHostfile('a slots=2\nb slots=x\n', 'hf'), (e: unknown) => e instanceof UsageError && /hf:2: expected 'slots=N'/.test(e.message));
    assert.throws(() => parseHostfile('a slots=0', 'hf'), /hf:1: slots must be at least 1/);
    assert.throws(() => parseHostfile('bad$host', 'hf'), /hf:1: bad host name 'bad\$host'/);
    assert.throws(() => parseHostfile('# nothing\n', 'hf'), /hf: no hosts listed/);
  });

  it('fills hosts in order up to their slots, with local ranks per host', () => {
    const p = placeRanks(5, parseHostfile('localhost slots=2\nb slots=3'), false);
    assert.deepEqual(p.map((x) => [x.rank, x.host, x.local, x.localRank, x.localSize, x.hostSlots]), [
      [0, 'localhost', true, 0, 2, 2], [1, 'localhost', true, 1, 2, 2],
      [2, 'b', false, 0, 3, 3], [3, 'b', false, 1, 3, 3], [4, 'b', false, 2, 3, 3],
    ]);
    assert.deepEqual(placeRanks(2, parseHostfile('a slots=2\nb slots=2'), false).map((x) => x.host), ['a', 'a']);
  });

  it('refuses more ranks than slots unless oversubscribed, then spreads the extra ranks', () => {
    const hosts = parseHostfile('a slots=1\nb slots=1');
    assert.throws(() => placeRanks(3, hosts, false), /3 ranks requested but the hostfile has only 2 slots/);
    const p = placeRanks(5, hosts, true);
    assert.deepEqual(p.map((x) => x.host), ['a', 'a', 'a', 'b', 'b']);
    assert.deepEqual(p.map((x) => x.localRank), [0, 1, 2, 0, 1]);
    assert.deepEqual(p.map((x) => x.localSize), [3, 3, 3, 2, 2]);
  });

  it('local placement puts every rank here; only localhost names skip the agent', () => {
    const p = placeLocal(3);
    assert.deepEqual(p.map((x) => [x.localRank, x.localSize, x.local]), [[0, 3, true], [1, 3, true], [2, 3, true]]);
    assert.equal(isLocalHost('LocalHost'), true);
    assert.equal(isLocalHost('127.0.0.1'), true);
    assert.equal(isLocalHost('127.0.0.2'), false);
    assert.equal(isLocalHost('node1'), false);
  });
});
