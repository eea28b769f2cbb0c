import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { requireService } from './services.ts';

export interface PrivateRedis {
  url: string;
  /** Starts it (empty: it keeps nothing on disk). */
  start(): Promise<void>;
  /** Kills it outright, as a crash or an OOM kill would. */
  kill(): Promise<void>;
}

const REDIS_SERVER = '/usr/bin/redis-server';

/** A free loopback port (the kernel's pick; closed again at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
  return address.port;
}

/**
 * A redis-server of this test's own, on a free port, that the test may kill and restart — the
 * shared one on 6379 is never touched. Without persistence, as Redis ships: a restart is empty.
 * Null (test skipped) when redis-server is not installed.
 */
export async function privateRedis(t: TestContext): Promise<PrivateRedis | null> {
  if (!requireService(t, existsSync(REDIS_SERVER), 'redis-server')) return null;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'auth-sse-redis-'));
  let child: ChildProcess | null = null;
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const started = spawn(
        REDIS_SERVER,
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      child = started;
      let output = '';
      started.stdout?.setEncoding('utf8');
      await new Promise<void>((resolve, reject) => {
        started.stdout?.on('data', (chunk: string) => {
          output += chunk;
          if (output.includes('Ready to accept connections')) resolve();
        });
        started.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
      });
      started.stdout?.resume();
    },
    async kill() {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null) return;
      const exited = once(running, 'exit');
      running.kill('SIGKILL');
      await exited;
    },
  };
  t.after(async () => {
    await redis.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await redis.start();
  return redis;
}
