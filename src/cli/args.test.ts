import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCliArgs } from './args.ts';

test('parses each command with its username and optional password', () => {
  assert.deepEqual(parseCliArgs(['add', 'bob', '--password', 'pw']), {
    ok: true,
    command: { name: 'add', username: 'bob', password: 'pw' },
  });
  assert.deepEqual(parseCliArgs(['passwd', 'bob', '--password=pw=with=equals']), {
    ok: true,
    command: { name: 'passwd', username: 'bob', password: 'pw=with=equals' },
  });
  assert.deepEqual(parseCliArgs(['add', 'bob']), {
    ok: true,
    command: { name: 'add', username: 'bob', password: null },
  });
  assert.deepEqual(parseCliArgs(['remove', 'bob']), {
    ok: true,
    command: { name: 'remove', username: 'bob' },
  });
  assert.deepEqual(parseCliArgs(['logout-all', 'bob']), {
    ok: true,
    command: { name: 'logout-all', username: 'bob' },
  });
  assert.deepEqual(parseCliArgs(['list']), { ok: true, command: { name: 'list' } });
});

test('no arguments, help, --help and -h all mean help', () => {
  for (const argv of [[], ['help'], ['--help'], ['-h'], ['add', '--help']])
    assert.deepEqual(parseCliArgs(argv), { ok: true, command: { name: 'help' } }, argv.join(' '));
});

test('refuses unknown commands, unknown options, missing and extra arguments', () => {
  const problems: [string[], RegExp][] = [
    [['frob'], /unknown command "frob"/],
    [['add'], /add needs a username/],
    [['logout-all'], /logout-all needs a username/],
    [['add', 'a', 'b'], /unexpected argument "b"/],
    [['list', 'x'], /list takes no arguments/],
    [['remove', 'bob', '--password', 'x'], /remove takes no --password/],
    [['add', 'bob', '--force'], /--force/],
    [['add', 'bob', '--password'], /--password/],
  ];
  for (const [argv, expected] of problems) {
    const parsed = parseCliArgs(argv);
    assert.equal(parsed.ok, false, argv.join(' '));
    if (!parsed.ok) assert.match(parsed.problem, expected);
  }
});
