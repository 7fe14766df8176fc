import { test } from 'node:test';
import assert from 'node:assert/strict';
import { semiSpaceArg, semiSpaceSetting, withSemiSpace } from './young-generation.ts';

const plain = {
  execPath: '/usr/bin/node',
  execArgv: ['--enable-source-maps'],
  argv: ['/usr/bin/node', '/app/main.ts', 'edge'],
};

test('the semi-space setting is read from the command line first, then NODE_OPTIONS, in either spelling', () => {
  assert.equal(semiSpaceSetting([], undefined), null);
  assert.equal(semiSpaceSetting([], '--max-old-space-size=512'), null);
  assert.equal(semiSpaceSetting([], '--trace-gc --max_semi_space_size=8'), '--max_semi_space_size=8');
  assert.equal(semiSpaceSetting(['--max-semi-space-size=4'], '--max-semi-space-size=8'), '--max-semi-space-size=4');
});

test('a process without the flag is started again with it, once; a single executable through NODE_OPTIONS', () => {
  const next = withSemiSpace({ ...plain, env: { PATH: '/bin' } }, false);
  assert.deepEqual(next?.args, ['/usr/bin/node', semiSpaceArg(), '--enable-source-maps', '/app/main.ts', 'edge']);
  assert.equal(next?.env.PATH, '/bin');
  assert.equal(withSemiSpace({ ...plain, env: next!.env }, false), null, 'never twice');
  assert.equal(withSemiSpace({ ...plain, env: {}, channel: {} }, false), null, 'forked with IPC: kept as it is');

  const sea = withSemiSpace(
    {
      execPath: '/opt/dbc',
      execArgv: [],
      argv: ['/opt/dbc', './dbc', 'connector', 'run'],
      env: { NODE_OPTIONS: '--trace-gc' },
    },
    true,
  );
  assert.deepEqual(sea?.args, ['./dbc', 'connector', 'run']);
  assert.equal(sea?.env.NODE_OPTIONS, `--trace-gc ${semiSpaceArg()}`);
});

test("an operator's own setting is left alone", () => {
  assert.equal(withSemiSpace({ ...plain, env: { NODE_OPTIONS: '--max-semi-space-size=16' } }, false), null);
  assert.equal(withSemiSpace({ ...plain, execArgv: ['--max-semi-space-size=16'], env: {} }, false), null);
});
