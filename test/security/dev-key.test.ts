/**
 * No published key signs anything. The previous default start signed tokens with
 * `dev-secret-change-me`, a string in this repository: anyone could mint a token for any user of
 * a forgotten default deployment. Now a fresh start with DEBUG on and no SECRET_KEY generates a
 * random key into `.dev-secret-key` (git-ignored), reads it on later starts, and the published
 * key is refused everywhere; a development server reachable from the network says so loudly.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { apiToken } from '../support/http.ts';
import { isRunning, startServerProcess } from '../support/server-process.ts';
import { DENIED, GRANTED, nowSeconds, probeAccess, signHs256 } from './attack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function freshDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'auth-sse-devkey-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a default start signs with a generated key, keeps it across restarts, and refuses the old published one', async (t) => {
  const dir = freshDir(t);
  const env = { DATABASE_URL: `sqlite:///${join(dir, 'app.db')}` };
  const first = await startServerProcess(t, dir, env);
  assert.ok(isRunning(first), JSON.stringify(first));
  // The attack: a token for any user, signed with the key published in this repository.
  const forged = signHs256('dev-secret-change-me', {
    sub: 'mark',
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
  });
  assert.deepEqual(await probeAccess(first.url, forged), DENIED, 'a token signed with the published key');

  const keyFile = join(dir, '.dev-secret-key');
  const key = readFileSync(keyFile, 'utf8').trim();
  assert.match(key, /^[\w-]{64}$/, 'a random 48-byte key');
  assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'readable by its owner only');
  const token = await apiToken(first.url);
  assert.deepEqual(await probeAccess(first.url, token), GRANTED);
  assert.equal(await first.stop(), 0);

  // Restart: same key, so the session survives.
  const second = await startServerProcess(t, dir, env);
  assert.ok(isRunning(second), JSON.stringify(second));
  assert.equal(readFileSync(keyFile, 'utf8').trim(), key);
  assert.deepEqual(await probeAccess(second.url, token), GRANTED, 'a token from before the restart');
  assert.deepEqual(await probeAccess(second.url, forged), DENIED);
  assert.equal(await second.stop(), 0);
});

test('SECRET_KEY set to a published default is refused even with DEBUG on, naming the variable', async (t) => {
  for (const key of ['dev-secret-change-me', 'your_secret_key_here']) {
    const dir = freshDir(t);
    const result = await startServerProcess(t, dir, {
      SECRET_KEY: key,
      DATABASE_URL: `sqlite:///${join(dir, 'a.db')}`,
    });
    assert.ok(!isRunning(result), `${key}: started`);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /SECRET_KEY is a published default/, result.stderr);
  }
});

test('DEBUG=false refuses keys with obviously low entropy, naming the variable', async (t) => {
  for (const key of ['a'.repeat(32), 'ab'.repeat(20), 'abcdefghijklmnopqrstuvwxyz012345']) {
    const dir = freshDir(t);
    const result = await startServerProcess(t, dir, { DEBUG: 'false', SECRET_KEY: key });
    assert.ok(!isRunning(result), `${key}: started`);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /SECRET_KEY/, result.stderr);
  }
});

test('DEBUG on and listening beyond loopback: a loud warning; on loopback: none', async (t) => {
  const dir = freshDir(t);
  const db = { DATABASE_URL: `sqlite:///${join(dir, 'app.db')}` };
  const open = await startServerProcess(t, dir, { ...db, HOST: '0.0.0.0' });
  assert.ok(isRunning(open), JSON.stringify(open));
  // The log line lists every address; find the loopback one to stop cleanly.
  assert.equal(await open.stop(), 0);
  const { stderr, stdout } = open.output();
  assert.match(stderr, /WARNING: DEBUG is on and the server listens on 0\.0\.0\.0/);
  assert.match(stdout, /DEBUG is on and the server listens on 0\.0\.0\.0/);

  const local = await startServerProcess(t, dir, db);
  assert.ok(isRunning(local));
  assert.equal(await local.stop(), 0);
  assert.doesNotMatch(local.output().stderr + local.output().stdout, /DEBUG is on and the server listens/);
});

test('processes starting together agree on one generated key', async (t) => {
  const dir = freshDir(t);
  const module = new URL('../../src/secret-key.ts', import.meta.url).href;
  const script = `import { loadOrCreateDevSecretKey } from '${module}'; console.log(loadOrCreateDevSecretKey(process.cwd()));`;
  const run = () =>
    new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: dir }, (error, stdout) =>
        error ? reject(error) : resolve(stdout.trim()),
      ),
    );
  const keys = await Promise.all(Array.from({ length: 6 }, run));
  const { loadOrCreateDevSecretKey } = await import(module);
  assert.equal(new Set(keys).size, 1, keys.join('\n'));
  assert.equal(loadOrCreateDevSecretKey(dir), keys[0]);
});

test('.dev-secret-key is ignored by git', () => {
  const ignored = execFileSync('git', ['check-ignore', '--no-index', '.dev-secret-key'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(ignored.trim(), '.dev-secret-key');
});
