// Unit tests of the launcher's command-line parser (scripts/launcher/args.ts).

import assert from 'node:assert/strict';
import { parseArgs, UsageError } from '../../scripts/launcher/args.js';

describe('launcher argument parsing', () => {
  it('reads -n/-np, stops at the program and passes the rest through untouched', () => {
    const o = parseArgs(['-n', '4', 'prog.ts', '-n', '2', '--timeout', 'x']);
    assert.equal(o.np, 4);
    assert.equal(o.program, 'prog.ts');
    assert.deepEqual(o.programArgs, ['-n', '2', '--timeout', 'x']);
    assert.equal(parseArgs(['-np', '3', 'p.js']).np, 3);
    assert.equal(parseArgs(['-n4', 'p.js']).np, 4);
    assert.equal(parseArgs(['--np=5', 'p.js']).np, 5);
  });

  it('has the documented defaults', () => {
    const o = parseArgs(['prog.ts']);
    assert.equal(o.np, undefined);
    assert.equal(o.tagOutput, true);
    assert.equal(o.launchAgent, 'ssh');
    assert.equal(o.oversubscribe, false);
    assert.equal(o.timeout, undefined);
    assert.deepEqual(o.exports, []);
  });

  it('reads every flag, in both --flag value and --flag=value forms', () => {
    const o = parseArgs(['--timeout', '2.5', '--hostfile=hosts', '--launch-agent', 'ssh -p 2222', '-x', 'A=1=2',
      '-x', 'B', '--no-tag-output', '--oversubscribe', '--trace', 'out.json', '--bind-to', 'none', 'prog', 'a']);
    assert.equal(o.timeout, 2.5);
    assert.equal(o.hostfile, 'hosts');
    assert.equal(o.launchAgent, 'ssh -p 2222');
    assert.deepEqual(o.exports, [{ name: 'A', value: '1=2' }, { name: 'B' }]);
    assert.equal(o.tagOutput, false);
    assert.equal(o.oversubscribe, true);
    assert.equal(o.trace, 'out.json');
    assert.equal(o.bindTo, 'none');
    assert.equal(parseArgs(['--bind-to=core', 'p']).bindTo, 'core');
    assert.equal(parseArgs(['p']).bindTo, undefined, 'the rank variables decide the default');
    assert.deepEqual(o.programArgs, ['a']);
    assert.equal(parseArgs(['--no-tag-output', '--tag-output', 'p']).tagOutput, true);
  });

  it('-- ends the options, so a program may start with a dash', () => {
    const o = parseArgs(['-n', '2', '--', '-weird.ts', 'x']);
    assert.equal(o.program, '-weird.ts');
    assert.deepEqual(o.programArgs, ['x']);
  });

  it('-h/--help needs no program', () => {
    assert.equal(parseArgs(['-h']).help, true);
    assert.equal(parseArgs(['--help']).help, true);
  });

  const bad: [string[], RegExp][] = [
    [['-n', '0', 'p'], /-n needs a positive integer, got '0'/],
    [['-n', 'two', 'p'], /-n needs a positive integer, got 'two'/],
    [['-n', '1.5', 'p'], /positive integer/],
    [['-n'], /-n needs a value/],
    [['--timeout', '0', 'p'], /--timeout needs a positive number of seconds, got '0'/],
    [['--timeout', 'soon', 'p'], /--timeout needs a positive number of seconds/],
    [['-x', '1BAD=2', 'p'], /-x needs VAR or VAR=value with a valid variable name, got '1BAD=2'/],
    [['-x', '=v', 'p'], /valid variable name/],
    [['--launch-agent', ' ', 'p'], /--launch-agent needs a command/],
    [['--frobnicate', 'p'], /unknown option '--frobnicate'/],
    [['--oversubscribe=yes', 'p'], /option --oversubscribe takes no value/],
    [['--bind-to', 'socket', 'p'], /--bind-to takes core or none, got 'socket'/],
    [['-n', '2'], /no program given/],
    [[], /no program given/],
  ];
  for (const [argv, message] of bad) {
    it(`rejects ${JSON.stringify(argv)}`, () => {
      assert.throws(() => parseArgs(argv), (err: unknown) => err instanceof UsageError && message.test(err.message));
    });
  }
});
