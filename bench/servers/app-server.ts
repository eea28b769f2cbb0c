/** The real app (SQLite log, in-process bus) as a bench target. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { now, serveCommands } from './ipc.ts';

const dir = mkdtempSync(join(tmpdir(), 'auth-sse-bench-'));
const config = loadConfig({
  DEBUG: 'true',
  LOG_LEVEL: 'silent',
  BCRYPT_ROUNDS: '4',
  SECRET_KEY: 'bench-secret-key-that-is-long-enough-0123456789',
  DATABASE_URL: `sqlite:///${join(dir, 'bench.db')}`,
  SSE_MAX_STREAMS_PER_USER: '100000',
  SSE_HEARTBEAT_SECONDS: '3600',
  SSE_REPLAY_LIMIT: '100000',
});
const app = await buildApp(config);
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');

serveCommands(
  {
    publish: async (n, padding) => {
      await app.events.publish('mark', { js: { t: now(), n, padding } });
    },
    connections: () => app.events.connectionCount(),
    close: async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  },
  address.port,
);
