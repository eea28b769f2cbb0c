/**
 * Cold start: `node src/server.ts` (what `npm start` runs after building the browser bundle)
 * from spawn to its first 200 on /healthz, on a fresh database and on a restart (also with
 * NODE_COMPILE_CACHE set before Node starts, as `npm start` and the Docker image do), and its RSS
 * once idle. A bare node:http server started the same way shows what Node itself costs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { processRssBytes } from '../lib/machine.ts';
import type { BenchOptions } from '../lib/options.ts';
import type { ScenarioResult } from '../lib/report.ts';
import { median, monotonicMs } from '../lib/stats.ts';
import { BENCH_SECRET } from '../servers/ipc.ts';

const appDir = process.env.BENCH_APP_DIR ?? fileURLToPath(new URL('../../', import.meta.url));

function freePort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    }),
  );
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Spawns a server and returns ms until its first 200 (polling every 2 ms), and the process. */
async function timeToFirst200(
  args: string[],
  env: Record<string, string>,
  core: string | null,
  port: number,
): Promise<{ ms: number; child: ChildProcess }> {
  const command =
    core === null ? [process.execPath, ...args] : ['taskset', '-c', core, process.execPath, ...args];
  const started = monotonicMs();
  const child = spawn(command[0] as string, command.slice(1), {
    cwd: appDir,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  while (!(await healthy(port))) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
    if (monotonicMs() - started > 30_000) throw new Error(`${args.join(' ')}: no 200 within 30 s`);
    await sleep(2);
  }
  return { ms: monotonicMs() - started, child };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

export async function startupScenario(options: BenchOptions): Promise<ScenarioResult> {
  const core = options.placement.serverCore;
  const fresh: number[] = [];
  const restart: number[] = [];
  const cached: number[] = [];
  const cachedRss: number[] = [];
  const demo: number[] = [];
  const bare: number[] = [];
  const rss: number[] = [];
  const bareScript = `require('node:http').createServer((q, s) => s.end('ok')).listen(process.env.PORT, '127.0.0.1')`;
  for (let run = 0; run < options.startup.runs; run++) {
    const dir = mkdtempSync(join(tmpdir(), 'auth-sse-start-'));
    try {
      const env = {
        DEBUG: 'false',
        SECRET_KEY: BENCH_SECRET,
        LOG_LEVEL: 'warn',
        DATABASE_URL: `sqlite:///${join(dir, 'app.db')}`,
      };
      const first = await timeToFirst200(['src/server.ts'], env, core, await freePort());
      fresh.push(first.ms);
      await sleep(1000);
      rss.push(processRssBytes(first.child.pid ?? -1));
      await stop(first.child);
      const again = await timeToFirst200(['src/server.ts'], env, core, await freePort());
      restart.push(again.ms);
      await stop(again.child);
      // As `npm start` and the Docker image run it: NODE_COMPILE_CACHE set before Node starts, so
      // even src/server.ts comes from the cache (checkouts without the cache just fill it).
      const cacheEnv = { ...env, NODE_COMPILE_CACHE: join(appDir, 'node_modules/.cache/node-compile-cache') };
      const warm = await timeToFirst200(['src/server.ts'], cacheEnv, core, await freePort());
      cached.push(warm.ms);
      await sleep(1000);
      cachedRss.push(processRssBytes(warm.child.pid ?? -1));
      await stop(warm.child);
      const debugEnv = {
        DEBUG: 'true',
        LOG_LEVEL: 'warn',
        DATABASE_URL: `sqlite:///${join(dir, 'demo.db')}`,
      };
      const withDemo = await timeToFirst200(['src/server.ts'], debugEnv, core, await freePort());
      demo.push(withDemo.ms);
      await stop(withDemo.child);
      const node = await timeToFirst200(['-e', bareScript], {}, core, await freePort());
      bare.push(node.ms);
      await stop(node.child);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    id: 'startup',
    title: 'Cold start',
    rows: [
      {
        scenario: 'cold start',
        metric: 'spawn → first 200, restart on an existing database',
        unit: 'ms',
        app: median(restart),
        baseline: median(bare),
        baselineName: 'bare node:http',
        ratio: null,
        target: { on: 'app', op: '<=', value: 400 },
        digits: 0,
      },
      {
        scenario: 'cold start',
        metric: 'spawn → first 200, restart with NODE_COMPILE_CACHE (npm start, Docker)',
        unit: 'ms',
        app: median(cached),
        baseline: median(bare),
        ratio: null,
        target: { on: 'app', op: '<=', value: 400 },
        digits: 0,
      },
      {
        scenario: 'cold start',
        metric: 'spawn → first 200, fresh database (migrations)',
        unit: 'ms',
        app: median(fresh),
        baseline: median(bare),
        ratio: null,
        target: { on: 'app', op: '<=', value: 400 },
        digits: 0,
      },
      {
        scenario: 'cold start',
        metric: 'idle RSS after start',
        unit: 'MiB',
        app: median(rss) / 1024 ** 2,
        baseline: null,
        ratio: null,
        target: { on: 'app', op: '<=', value: 80 },
      },
      {
        scenario: 'cold start',
        metric: 'idle RSS after start, with NODE_COMPILE_CACHE',
        unit: 'MiB',
        app: median(cachedRss) / 1024 ** 2,
        baseline: null,
        ratio: null,
        target: { on: 'app', op: '<=', value: 80 },
      },
    ],
    notes: [
      `\`node src/server.ts\` with DEBUG=false and SQLite, ${options.startup.runs} run(s); the baseline column is a bare node:http server started the same way (Node's own start-up). A first start in DEBUG, which also hashes the two demo users at bcrypt cost 12: ${median(demo).toFixed(0)} ms. RSS read from /proc 1 s after the first 200.`,
    ],
  };
}
