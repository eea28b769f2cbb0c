import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { numberOf, openStreamRetrying } from '../events/helpers.ts';
import { tempSqliteUrl } from '../support/app.ts';
import { deleteRedisKeys, redisAvailable } from '../support/backends.ts';
import { apiToken } from '../support/http.ts';
import { listeningUrl, PROCESS_ENV, ROOT, type ServerProcess, spawnServer } from '../support/process.ts';
import { freePort } from '../support/redis-server.ts';
import { REDIS_URL, requireService } from '../support/services.ts';
import type { SseClient } from '../support/sse.ts';

const NGINX = '/usr/sbin/nginx';
const PUBLISH_KEY = 'publish-key-0123456789';

/**
 * deploy/nginx.conf adapted to this machine: the test's port, the app instances' ports instead of
 * the compose service name (Debian's nginx predates `resolve`), one worker, and every path nginx
 * writes under a temp folder. Everything that matters for streams is left as shipped.
 */
function adaptNginxConf(shipped: string, listenPort: number, upstreams: number[], dir: string): string {
  const servers = upstreams.map((port) => `server 127.0.0.1:${port} max_fails=0;`).join('\n    ');
  const adapted = shipped
    .replace(/worker_processes [^;]+;/, 'worker_processes 1;')
    .replace(/^\s*resolver [^;]+;$/m, '')
    .replace(/server app:8080 resolve max_fails=0;/, servers)
    .replace(/listen 80;/, `listen 127.0.0.1:${listenPort};`)
    .replace(
      /http \{/,
      `http {\n  access_log ${dir}/access.log;\n${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
        .map((kind) => `  ${kind}_temp_path ${dir}/${kind};`)
        .join('\n')}`,
    );
  assert.notEqual(adapted.indexOf('127.0.0.1:'), -1);
  assert.doesNotMatch(adapted, /app:8080|listen 80;/, 'every adaptation applied');
  return adapted;
}

async function startNginx(t: TestContext, upstreams: number[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'auth-sse-nginx-'));
  for (const kind of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, kind));
  const port = await freePort();
  const shipped = readFileSync(join(ROOT, 'deploy/nginx.conf'), 'utf8');
  writeFileSync(join(dir, 'nginx.conf'), adaptNginxConf(shipped, port, upstreams, dir));
  const nginx = spawn(
    NGINX,
    [
      '-p',
      dir,
      '-c',
      join(dir, 'nginx.conf'),
      '-g',
      `daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  nginx.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(nginx, 'exit');
  t.after(async () => {
    if (nginx.exitCode === null) {
      nginx.kill('SIGQUIT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    if (
      existsSync(join(dir, 'nginx.pid')) &&
      (await fetch(`${url}/healthz`).catch(() => null))?.status === 200
    )
      break;
    if (i > 200) throw new Error(`nginx did not come up: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return url;
}

test('behind nginx (deploy/nginx.conf): streams are not buffered, and two instances lose nothing when one is killed', async (t) => {
  if (!requireService(t, existsSync(NGINX), 'nginx')) return;
  if (!requireService(t, await redisAvailable(), 'Redis')) return;
  const prefix = `test:auth-sse:${randomBytes(6).toString('hex')}:`;
  t.after(() => deleteRedisKeys(prefix));
  const env = {
    ...PROCESS_ENV,
    DATABASE_URL: tempSqliteUrl(t),
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    PUBLISH_API_KEY: PUBLISH_KEY,
    TRUST_PROXY: 'true',
  };
  const instances: { process: ServerProcess; port: number }[] = [];
  for (let i = 0; i < 2; i++) {
    const instance = spawnServer(t, env);
    const listening = await instance.waitFor((line) => /listening at/.test(String(line.msg)));
    instances.push({ process: instance, port: Number(new URL(listeningUrl(listening)).port) });
  }
  const url = await startNginx(
    t,
    instances.map((instance) => instance.port),
  );
  const token = await apiToken(url);
  const publish = async (n: number) => {
    const response = await fetch(`${url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${PUBLISH_KEY}` },
      body: JSON.stringify({ to: 'mark', message: { js: { n } } }),
    });
    assert.equal(response.status, 202);
  };

  const clients: { stream: SseClient; got: number[]; lastId: string }[] = [];
  for (let i = 0; i < 4; i++)
    clients.push({
      stream: await openStreamRetrying(url, token, 'mark', { lastEventId: 0 }),
      got: [],
      lastId: '0',
    });
  t.after(() => {
    for (const client of clients) client.stream.close();
  });
  // Log lines travel through a pipe: wait until all four have arrived before counting.
  const openedOn = (instance: (typeof instances)[number]) =>
    instance.process.lines.filter((line) => line.msg === 'stream opened').length;
  for (let i = 0; i < 200 && instances.reduce((sum, instance) => sum + openedOn(instance), 0) < 4; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(
    instances.every((instance) => openedOn(instance) > 0),
    'nginx spreads streams over both instances',
  );

  const receive = async (client: (typeof clients)[number], upTo: number) => {
    while (client.got.length < upTo) {
      try {
        const event = await client.stream.next(10_000);
        client.got.push(numberOf(event));
        client.lastId = event.id ?? client.lastId;
      } catch (error) {
        if (!(error instanceof Error) || error.message !== 'stream ended') throw error;
        client.stream = await openStreamRetrying(url, token, 'mark', { lastEventId: client.lastId });
      }
    }
  };

  // Not buffered: a message arrives at once. (A buffering proxy holds small events until its
  // buffer fills, so they would not arrive at all. Best of three, to stay clear of a busy machine.)
  const latencies: number[] = [];
  for (let n = 1; n <= 3; n++) {
    const started = performance.now();
    await publish(n);
    await Promise.all(clients.map((client) => receive(client, n)));
    latencies.push(performance.now() - started);
  }
  assert.ok(
    Math.min(...latencies) < 100,
    `publish → every stream through nginx: ${latencies.map(Math.round)} ms`,
  );

  // One instance dies mid-stream; messages keep coming. (A publish caught *inside* the dying
  // instance gets a 502 — a failure its sender sees, never a silent loss — so this one waits
  // for the death to complete.)
  instances[0]?.process.child.kill('SIGKILL');
  await instances[0]?.process.exited;
  for (let n = 4; n <= 10; n++) await publish(n);
  await Promise.all(clients.map((client) => receive(client, 10)));
  for (const client of clients) assert.deepEqual(client.got, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});
