import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';

export interface RunningApp {
  app: FastifyInstance;
  config: Config;
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

/** A fresh SQLite file in a temp folder, removed after the test. */
export function tempSqliteUrl(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'auth-sse-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:///${join(dir, 'app.db')}`;
}

/** Test defaults: cheap bcrypt, quiet logs, the demo users, a fresh database. */
export function testEnv(t: TestContext, env: Record<string, string> = {}): Record<string, string> {
  return {
    DEBUG: 'true',
    BCRYPT_ROUNDS: '4',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SECRET_KEY: 'test-secret-key-that-is-long-enough-0123456789',
    DATABASE_URL: env.DATABASE_URL ?? tempSqliteUrl(t),
    ...env,
  };
}

/**
 * Builds the real app and listens on a random loopback port; closed after the test.
 * Pass the same DATABASE_URL to a second `startApp` to model a restart or a second instance.
 */
export async function startApp(
  t: TestContext,
  env: Record<string, string> = {},
  options: Parameters<typeof buildApp>[1] & {
    /** Runs on the built app before it listens (the last moment hooks can be added). */
    beforeListen?(app: FastifyInstance): void;
  } = {},
): Promise<RunningApp> {
  const config = loadConfig(testEnv(t, env));
  const { beforeListen, ...buildOptions } = options;
  const app = await buildApp(config, buildOptions);
  beforeListen?.(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
  };
  t.after(close);
  return { app, config, url: `http://127.0.0.1:${address.port}`, close };
}
