/**
 * Production mode (DEBUG=false) must fail safe: the real entry point refuses to start with a
 * missing, well-known or short SECRET_KEY (naming the variable), and no demo accounts appear
 * unless INITIAL_USERS asks for them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startApp } from '../support/app.ts';

const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url));
const STRONG_SECRET = 'b3f1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6';

interface Run {
  code: number | null;
  stderr: string;
  stdout: string;
}

/**
 * Runs `node src/server.ts` in an empty folder (so no `.env` is read and no database file is
 * left behind) with only the given variables. With `untilListening`, stops it with SIGTERM once
 * it logs that it listens.
 */
function runServer(t: TestContext, env: Record<string, string>, untilListening = false): Promise<Run> {
  const cwd = mkdtempSync(join(tmpdir(), 'auth-sse-prod-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const child = spawn(process.execPath, [SERVER], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not finish: ${stdout}${stderr}`));
    }, 15_000);
    let stdout = '';
    let stderr = '';
    let stopping = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (untilListening && !stopping && /Server listening/.test(stdout)) {
        stopping = true; // once: a second signal means "exit now" to the server
        child.kill('SIGTERM');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('DEBUG=false refuses to start without a strong SECRET_KEY, naming the variable', async (t) => {
  const cases: Record<string, Record<string, string>> = {
    missing: {},
    empty: { SECRET_KEY: '   ' },
    'well-known default': { SECRET_KEY: 'your_secret_key_here' },
    'short (< 32 bytes)': { SECRET_KEY: 'short-but-random-Xk29' },
  };
  const runs = await Promise.all(
    Object.entries(cases).map(async ([name, env]) => ({
      name,
      run: await runServer(t, { DEBUG: 'false', ...env }),
    })),
  );
  for (const { name, run } of runs) {
    assert.notEqual(run.code, 0, `${name}: must exit non-zero`);
    assert.match(run.stderr, /SECRET_KEY/, `${name}: message names SECRET_KEY (${run.stderr})`);
    assert.doesNotMatch(run.stdout, /Server listening/, `${name}: never listened`);
  }
});

test('DEBUG=false with a strong SECRET_KEY starts and shuts down cleanly (control)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-sse-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = await runServer(
    t,
    {
      DEBUG: 'false',
      SECRET_KEY: STRONG_SECRET,
      DATABASE_URL: `sqlite:///${join(dir, 'app.db')}`,
      BCRYPT_ROUNDS: '4',
    },
    true,
  );
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /Server listening/);
  assert.doesNotMatch(run.stdout, /created initial user/, 'no demo users in production');
});

test('DEBUG=false never seeds the demo users', async (t) => {
  const { url, app } = await startApp(t, { DEBUG: 'false', SECRET_KEY: STRONG_SECRET });
  assert.deepEqual(await app.auth.users.list(), []);
  const response = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'mark', password: 'pass123' }),
  });
  assert.equal(response.status, 401);
});

test('DEBUG=false seeds exactly the users INITIAL_USERS names', async (t) => {
  const { app } = await startApp(t, {
    DEBUG: 'false',
    SECRET_KEY: STRONG_SECRET,
    INITIAL_USERS: 'admin:a-long-initial-password',
  });
  assert.deepEqual(
    (await app.auth.users.list()).map((u) => u.username),
    ['admin'],
  );
});
