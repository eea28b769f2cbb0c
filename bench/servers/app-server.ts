/**
 * The real app as a bench target: production settings (DEBUG=false), SQLite in a temp folder
 * unless BENCH_ENV names other URLs, PUBLISH_API_KEY set. BENCH_APP_DIR may point at another
 * checkout (e.g. an older commit, to measure "before"); its src/app.ts is what runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { median, monotonicMs } from '../lib/stats.ts';
import {
  BENCH_PASSWORD,
  BENCH_PUBLISH_KEY,
  BENCH_SECRET,
  benchMessage,
  type Commands,
  publishPaced,
  serveCommands,
} from './ipc.ts';

const appDir = process.env.BENCH_APP_DIR ?? fileURLToPath(new URL('../../', import.meta.url));
const load = (path: string) => import(pathToFileURL(join(appDir, path)).href);
const { buildApp } = (await load('src/app.ts')) as {
  buildApp: (config: unknown) => Promise<FastifyInstance>;
};
const { loadConfig } = (await load('src/config.ts')) as { loadConfig: (env: object) => unknown };
const { createCourseRepository } = await load('src/courses/repository.ts');

const dir = mkdtempSync(join(tmpdir(), 'auth-sse-bench-'));
const app = await buildApp(
  loadConfig({
    DEBUG: 'false',
    LOG_LEVEL: 'warn',
    // Cheap hashes for the bench's own accounts (10,000 logins at set-up); the login storm sets the cost.
    BCRYPT_ROUNDS: '4',
    SECRET_KEY: BENCH_SECRET,
    PUBLISH_API_KEY: BENCH_PUBLISH_KEY,
    DATABASE_URL: `sqlite:///${join(dir, 'bench.db')}`,
    ...(JSON.parse(process.env.BENCH_ENV ?? '{}') as Record<string, string>),
  }),
);
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');

/**
 * A session for one bench account, through the app's own sign-in (a session record where the app
 * keeps them). Older checkouts (BENCH_APP_DIR) had a single `login`.
 */
async function signIn(username: string): Promise<string> {
  const auth = app.auth as unknown as {
    login?(u: string, p: string): Promise<{ issued: { token: string } } | null>;
    verifyCredentials?(u: string, p: string, client: object): Promise<object | null>;
    startSession?(user: object, client: object, persistent: boolean): Promise<{ token: string }>;
  };
  const client = { ip: '127.0.0.1', userAgent: 'auth-sse bench' };
  if (auth.login) {
    const result = await auth.login(username, BENCH_PASSWORD);
    if (result) return result.issued.token;
  } else if (auth.verifyCredentials && auth.startSession) {
    const user = await auth.verifyCredentials(username, BENCH_PASSWORD, client);
    if (user) return (await auth.startSession(user, client, false)).token;
  }
  throw new Error(`bench sign-in failed for ${username}`);
}

/** ms from publish to this instance's bus, by message number (the hop before fan-out). */
const busAt = new Map<number, number>();
app.events.bus.subscribe((message) => {
  if (message.kind !== 'event') return;
  const n = /"n":(\d+)/.exec(message.event.data)?.[1];
  if (n !== undefined) busAt.set(Number(n), monotonicMs());
});

const commands: Commands = {
  async setup({ users, courses, login = true }) {
    const hash = await app.auth.passwords.hash(BENCH_PASSWORD);
    const names = Array.from({ length: users }, (_, i) => `bench${i}`);
    for (const name of names) await app.auth.users.create(name, hash, Math.floor(Date.now() / 1000) - 60);
    const tokens: string[] = new Array(login ? users : 0);
    let next = login ? 0 : users;
    const worker = async () => {
      while (next < users) {
        const i = next++;
        tokens[i] = await signIn(names[i] as string);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const first = await app.auth.users.findByUsername('bench0');
    if (!first) throw new Error('bench0 was not created');
    const repository = createCourseRepository(app.db);
    for (let i = 0; i < courses; i++) await repository.add(first.id, `Course number ${i + 1}`);
    return { tokens };
  },

  async publish(args) {
    const pad = 'x'.repeat(args.padBytes);
    const acks: number[] = [];
    const sent = new Map<number, number>();
    busAt.clear();
    const failed = await publishPaced(args, async (recipient, n) => {
      const t = monotonicMs();
      sent.set(n, t);
      await app.events.publish(`bench${recipient}`, benchMessage(n, t, pad));
      acks.push(monotonicMs() - t);
    });
    const bus = [...busAt].map(([n, at]) => at - (sent.get(n) ?? at));
    return { ackMs: median(acks), busMs: median(bus), failed };
  },

  async broadcast({ n, padBytes }) {
    await app.events.publish('*', benchMessage(n, monotonicMs(), 'x'.repeat(padBytes)));
  },

  memory: () => {
    const { heapUsed, external, rss } = process.memoryUsage();
    return { heapUsed, external, rss };
  },
  cpuSeconds: () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  },
  connections: () => app.events.connectionCount(),
  async exit() {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  },
};

serveCommands(commands, address.port);
