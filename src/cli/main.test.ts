/**
 * The CLI as an operator runs it: a real process (this Node, the repo's src/cli/main.ts) against
 * a real database file, checked through the running app where it matters.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startApp, testEnv } from '../../test/support/app.ts';
import { deleteRedisKeys, redisAvailable } from '../../test/support/backends.ts';
import { apiToken } from '../../test/support/http.ts';
import { REDIS_URL, requireService } from '../../test/support/services.ts';
import { openSse } from '../../test/support/sse.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function emptyFolder(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'auth-sse-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the CLI in an empty folder (so no stray .env is read) with exactly `env`. */
function runCli(
  t: TestContext,
  args: string[],
  env: Record<string, string>,
  input?: string,
): Promise<CliRun> {
  const cwd = mkdtempSync(join(tmpdir(), 'auth-sse-cli-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

async function meStatus(url: string, token: string): Promise<number> {
  const response = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  await response.body?.cancel();
  return response.status;
}

test('add (password as an option and from piped stdin) creates users who can log in', async (t) => {
  const env = testEnv(t, { INITIAL_USERS: '' });
  const added = await runCli(t, ['add', 'bob', '--password', 'correct horse'], env);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stderr, /Created user "bob"/);
  const piped = await runCli(t, ['add', 'carol'], env, 'from stdin\nignored second line\n');
  assert.equal(piped.code, 0, piped.stderr);

  const list = await runCli(t, ['list'], env);
  assert.equal(list.code, 0);
  // DEBUG seeds the demo users when the app starts, not when the CLI runs.
  assert.equal(list.stdout, 'bob\ncarol\n');

  const { url } = await startApp(t, env);
  await apiToken(url, 'bob', 'correct horse');
  await apiToken(url, 'carol', 'from stdin');
  await assert.rejects(apiToken(url, 'carol', 'from stdin\nignored second line'), /401/);
});

test('add refuses a taken name, a bad name, a password the policy refuses, and changes nothing', async (t) => {
  const env = testEnv(t);
  assert.equal((await runCli(t, ['add', 'bob', '-p', 'first horse'], env)).code, 0);
  const cases: [string[], string | undefined, number, RegExp][] = [
    [['add', 'bob', '-p', 'second horse'], undefined, 1, /"bob" already exists/],
    [['add', 'bad name', '-p', 'x'], undefined, 2, /Invalid username "bad name"/],
    [['add', '../etc', '-p', 'x'], undefined, 2, /Invalid username/],
    [['add', 'dave', '-p', 'é'.repeat(37)], undefined, 2, /at most 72 bytes/],
    [['add', 'dave', '-p', 'short'], undefined, 2, /Refused: Password must be at least 8 characters/],
    [['add', 'dave', '-p', 'password1'], undefined, 2, /commonly used passwords/],
    [['add', 'dave', '-p', 'dave2024'], undefined, 2, /must not be your username/],
    [['add', 'dave'], '\n', 2, /at least 8 characters/],
    [['add', 'dave'], '', 2, /No password on stdin/],
  ];
  for (const [args, input, code, message] of cases) {
    const run = await runCli(t, args, env, input);
    assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
  assert.equal((await runCli(t, ['list'], env)).stdout, 'bob\n');
  const { url } = await startApp(t, { ...env, INITIAL_USERS: '' });
  await apiToken(url, 'bob', 'first horse');
  // The minimum length is configurable.
  const longer = await runCli(t, ['add', 'erin', '-p', 'eleven char'], { ...env, PASSWORD_MIN_LENGTH: '12' });
  assert.equal(longer.code, 2);
  assert.match(longer.stderr, /at least 12 characters/);
});

test('passwd changes the password and ends the sessions the old one opened', async (t) => {
  const env = testEnv(t);
  const { url, app } = await startApp(t, env);
  const oldToken = await apiToken(url, 'mark', 'pass123');
  assert.equal(await meStatus(url, oldToken), 200);

  const run = await runCli(t, ['passwd', 'mark', '--password', 'new-secret'], env);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /Password changed for "mark"/);
  // Without REDIS_URL the server hears of it at its next session check (run now).
  await app.events.checkSessions();
  assert.equal(await meStatus(url, oldToken), 401);
  await assert.rejects(apiToken(url, 'mark', 'pass123'), /401/);
  assert.equal(await meStatus(url, await apiToken(url, 'mark', 'new-secret')), 200);

  const missing = await runCli(t, ['passwd', 'nobody', '-p', 'x'], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No user "nobody"/);
  const weak = await runCli(t, ['passwd', 'mark', '-p', 'qwertyuiop'], env);
  assert.equal(weak.code, 2);
  assert.match(weak.stderr, /commonly used/);
});

test('sessions lists the active sessions of a user, one a line, and refuses an unknown user', async (t) => {
  const env = testEnv(t);
  const { url } = await startApp(t, env);
  await apiToken(url);
  const ended = await apiToken(url);
  await fetch(`${url}/api/logout`, { method: 'POST', headers: { authorization: `Bearer ${ended}` } });
  const run = await runCli(t, ['sessions', 'mark'], env);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /1 active session\(s\) of "mark"/);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const [id, created, seen, expires, ip, agent] = (lines[0] ?? '').split('\t');
  assert.match(id ?? '', /^[0-9a-f-]{36}$/);
  for (const time of [created, seen, expires]) assert.match(time ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(ip, '127.0.0.1');
  assert.equal(agent, 'node');
  assert.equal((await runCli(t, ['sessions', 'luke'], env)).stdout, '');
  const missing = await runCli(t, ['sessions', 'nobody'], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No user "nobody"/);
});

test('remove deletes the user and their sessions; a second remove is refused', async (t) => {
  const env = testEnv(t);
  const { url, app } = await startApp(t, env);
  const token = await apiToken(url, 'luke', 'pass456');
  const run = await runCli(t, ['remove', 'luke'], env);
  assert.equal(run.code, 0, run.stderr);
  await app.events.checkSessions();
  assert.equal(await meStatus(url, token), 401);
  assert.equal((await runCli(t, ['list'], env)).stdout, 'mark\n');
  const again = await runCli(t, ['remove', 'luke'], env);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /No user "luke"/);
});

test('remove deletes the user’s messages from the event log (the database, or Redis), not others’', async (t) => {
  const redis = await redisAvailable();
  for (const where of ['database', 'redis'] as const) {
    if (where === 'redis' && !requireService(t, redis, 'Redis')) return;
    const prefix = `test:auth-sse-cli:${process.pid}:${Date.now()}:`;
    if (where === 'redis') t.after(() => deleteRedisKeys(prefix));
    const env = testEnv(t, where === 'redis' ? { REDIS_URL, REDIS_KEY_PREFIX: prefix } : {});
    const { app, url } = await startApp(t, env);
    // Luke's sign-in pushes to his account page's topic; his page and Mark's get a message each.
    await apiToken(url, 'luke', 'pass456');
    for (const to of ['luke', 'mark']) await app.events.publish(to, { js: { n: 1 } });
    const run = await runCli(t, ['remove', 'luke'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /Warning/);
    const luke = await app.events.log.readAfter(['luke', 'luke#account'], 0, 10);
    assert.deepEqual(luke.events, [], `${where}: none of Luke's messages is left to replay`);
    assert.ok(luke.prunedThrough > 0, `${where}: a resume from before the removal reloads`);
    const mark = await app.events.log.readAfter(['mark'], 0, 10);
    assert.equal(mark.events.length, 1, `${where}: Mark's message stays`);
  }
});

test('logout-all ends every token of the user at the next session check, and notes that REDIS_URL is not set', async (t) => {
  const env = testEnv(t);
  const { url, app } = await startApp(t, env);
  const tokens = [await apiToken(url), await apiToken(url)];
  const other = await apiToken(url, 'luke', 'pass456');
  const run = await runCli(t, ['logout-all', 'mark'], env);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /REDIS_URL is not set/);
  await app.events.checkSessions();
  for (const token of tokens) assert.equal(await meStatus(url, token), 401);
  assert.equal(await meStatus(url, other), 200, "another user's session is untouched");
  assert.equal(await meStatus(url, await apiToken(url)), 200, 'logging in again works');
  assert.equal((await runCli(t, ['logout-all', 'nobody'], env)).code, 1);
});

test('without REDIS_URL, logout-all and remove end open streams at the next session check', async (t) => {
  const env = testEnv(t, { SSE_SESSION_CHECK_SECONDS: '0.2' });
  const { app, url } = await startApp(t, env);
  const open = (username: string, password: string) =>
    apiToken(url, username, password).then((token) =>
      openSse(`${url}/protected/events/${username}`, { authorization: `Bearer ${token}` }),
    );
  const users = { mark: 'pass123', luke: 'pass456' } as const;
  for (const [command, ending, staying] of [
    ['logout-all', 'mark', 'luke'],
    ['remove', 'luke', 'mark'],
  ] as const) {
    const [endingStream, stayingStream] = [
      await open(ending, users[ending]),
      await open(staying, users[staying]),
    ];
    t.after(() => {
      endingStream.close();
      stayingStream.close();
    });
    const run = await runCli(t, [command, ending], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /REDIS_URL is not set[\s\S]*SSE_SESSION_CHECK_SECONDS/);
    const event = await endingStream.next();
    assert.equal(event.event, 'auth', `${command}: ${ending}'s stream ends`);
    assert.deepEqual(JSON.parse(event.data), { reason: 'revoked', redirect: '/login' });
    await endingStream.ended;
    // The other user's stream is still live: the next thing on it is a message, not an ending.
    await app.events.publish(staying, { js: { n: 1 } });
    assert.equal((await stayingStream.next()).data, '{"js":{"n":1}}', `${command}: ${staying} stays`);
    stayingStream.close();
  }
});

test('with REDIS_URL, logout-all and remove also end open streams on a running server', async (t) => {
  if (!requireService(t, await redisAvailable(), 'Redis')) return;
  const prefix = `test:auth-sse-cli:${process.pid}:${Date.now()}:`;
  t.after(() => deleteRedisKeys(prefix));
  // The CLI finds the servers' bus through the same configuration, prefix included.
  const env = testEnv(t, { REDIS_URL, REDIS_KEY_PREFIX: prefix, SSE_HEARTBEAT_SECONDS: '30' });
  const { url } = await startApp(t, env);
  for (const [command, username, password, reason] of [
    ['logout-all', 'mark', 'pass123', 'logout-all'],
    ['remove', 'luke', 'pass456', 'removed'],
  ] as const) {
    const stream = await openSse(`${url}/protected/events/${username}`, {
      authorization: `Bearer ${await apiToken(url, username, password)}`,
    });
    t.after(() => stream.close());
    const run = await runCli(t, [command, username], env);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /Note|Warning/);
    const event = await stream.next();
    assert.equal(event.event, 'auth');
    assert.equal((JSON.parse(event.data) as { reason: string }).reason, reason);
    await stream.ended;
  }
});

test('with REDIS_URL unreachable, logout-all still ends the sessions, warns, and exits promptly', async (t) => {
  const env = testEnv(t, { REDIS_URL: 'redis://127.0.0.1:1' });
  assert.equal((await runCli(t, ['add', 'bob', '-p', 'long enough'], env)).code, 0);
  const started = Date.now();
  const run = await runCli(t, ['logout-all', 'bob'], env);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /Ended every session of "bob"/);
  assert.match(run.stderr, /Warning: could not tell running servers through Redis \(.*ECONNREFUSED/);
  assert.ok(Date.now() - started < 5000, 'no endless reconnecting');
});

test('an unusable configuration or database exits 3 naming the problem; usage errors exit 2', async (t) => {
  const env = testEnv(t);
  const badConfig = await runCli(t, ['list'], { ...env, DEBUG: 'false', SECRET_KEY: '' });
  assert.equal(badConfig.code, 3);
  assert.match(badConfig.stderr, /SECRET_KEY/);
  const badDb = await runCli(t, ['list'], { ...env, DATABASE_URL: 'sqlite:////nonexistent-dir/x/app.db' });
  assert.equal(badDb.code, 3);
  assert.match(badDb.stderr, /Cannot open the database/);
  const usage = await runCli(t, ['frob'], env);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /unknown command "frob"[\s\S]*Usage:/);
  const help = await runCli(t, ['--help'], {});
  assert.equal(help.code, 0);
  assert.match(help.stdout, /logout-all <username>/);
});

test('from a terminal the password is typed twice without echo; a mismatch changes nothing', async (t) => {
  // A real pseudo-terminal, from Python's standard library (no extra dependency).
  const hasPython = await new Promise<boolean>((resolve) =>
    spawn('/usr/bin/python3', ['-c', 'import pty'])
      .on('close', (code) => resolve(code === 0))
      .on('error', () => resolve(false)),
  );
  if (!requireService(t, hasPython, 'python3 (for a pseudo-terminal)')) return;
  const env = testEnv(t);
  const typeInto = async (username: string, first: string, second: string) => {
    const driver = `
import os, pty, sys, time, json
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], sys.argv[2], 'add', sys.argv[3]])
out = b''
def read_until(marker):
    global out
    while marker not in out:
        out += os.read(fd, 1024)
read_until(b'Password for')
os.write(fd, sys.argv[4].encode() + b'\\r')
read_until(b'Repeat it:')
os.write(fd, sys.argv[5].encode() + b'\\r')
try:
    while True:
        chunk = os.read(fd, 1024)
        if not chunk: break
        out += chunk
except OSError:
    pass
_, status = os.waitpid(pid, 0)
print(json.dumps({'code': os.waitstatus_to_exitcode(status), 'screen': out.decode()}))`;
    return new Promise<{ code: number; screen: string }>((resolve, reject) => {
      const child = spawn(
        '/usr/bin/python3',
        ['-c', driver, process.execPath, MAIN, username, first, second],
        {
          env: { PATH: process.env.PATH ?? '', ...env },
          cwd: emptyFolder(t),
        },
      );
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.on('error', reject);
      child.on('close', () => resolve(JSON.parse(stdout) as { code: number; screen: string }));
    });
  };
  const typed = await typeInto('tty-user', 'typed s3cret', 'typed s3cret');
  assert.equal(typed.code, 0, typed.screen);
  assert.match(typed.screen, /Created user "tty-user"/);
  assert.doesNotMatch(typed.screen, /s3cret/, 'nothing typed is echoed');
  const mismatch = await typeInto('tty-other', 'typed one!', 'typed two!');
  assert.equal(mismatch.code, 2);
  assert.match(mismatch.screen, /did not match/);
  assert.equal((await runCli(t, ['list'], env)).stdout, 'tty-user\n');
  const { url } = await startApp(t, env);
  await apiToken(url, 'tty-user', 'typed s3cret');
});
