import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { tempSqliteUrl } from '../support/app.ts';
import { apiToken } from '../support/http.ts';
import { ended, numberOf, openStream } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEY = 'publish-key-for-tests-0123456789';

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
  return address.port;
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`on ${signal} the server ends open streams and exits 0 promptly`, async (t) => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, ['src/server.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: String(port),
        DEBUG: 'true',
        BCRYPT_ROUNDS: '4',
        LOG_LEVEL: 'info',
        SECRET_KEY: 'test-secret-key-that-is-long-enough-0123456789',
        DATABASE_URL: tempSqliteUrl(t),
        PUBLISH_API_KEY: KEY,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    t.after(() => child.kill('SIGKILL'));

    const deadline = Date.now() + 15_000;
    for (;;) {
      const ok = await fetch(`${url}/healthz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`server did not start:\n${output}`);
      await sleep(50);
    }
    const token = await apiToken(url);
    const stream = await openStream(url, token, 'mark');
    const published = await fetch(`${url}/api/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'mark', message: { js: { n: 1 } } }),
    });
    assert.equal(published.status, 202);
    assert.equal(numberOf(await stream.next()), 1);

    const started = Date.now();
    child.kill(signal);
    await ended(stream, 5000);
    const limit = new AbortController();
    const [code] = await Promise.race([
      exited,
      sleep(12_000, null, { signal: limit.signal }).then(() => {
        throw new Error(`still running 12 s after ${signal}:\n${output}`);
      }),
    ]).finally(() => limit.abort());
    assert.equal(code, 0, output);
    assert.ok(Date.now() - started < 12_000);
    assert.match(output, /shutting down/);
    await assert.rejects(fetch(`${url}/healthz`), 'no longer accepting connections');
  });
}
