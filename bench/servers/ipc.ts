/**
 * The control channel between the bench runner and a server process (IPC). The app and the bare
 * node:http baseline answer the same commands, so every scenario drives both the same way; load
 * never travels this channel, only set-up and in-process publishing.
 */

/** Secrets and the password of the bench's own throwaway accounts (a temp database). */
export const BENCH_SECRET = 'bench-secret-key-that-is-long-enough-0123456789abcdef';
export const BENCH_PUBLISH_KEY = 'bench-publish-key-0123456789';
export const BENCH_PASSWORD = 'bench-password-1';
export const BENCH_METRICS_KEY = 'bench-metrics-key-0123456789';

export interface SetupArgs {
  /** Accounts bench0…bench<users-1>, each logged in once. */
  users: number;
  /** Courses stored for bench0, so its page renders a list. */
  courses: number;
  /** false: create the accounts only (the login storm logs in over HTTP itself). */
  login?: boolean;
}
export interface PublishArgs {
  /** Messages per second, published open-loop (a slow publish does not delay the next). */
  rate: number;
  count: number;
  /** Recipients are drawn from bench0…bench<users-1> by a seeded generator: the same for both servers. */
  users: number;
  padBytes: number;
}
export interface PublishResult {
  /** Median ms from the publish call until it resolved (stored in the log and handed to the bus). */
  ackMs: number;
  /** Median ms from the publish call until this instance's bus delivered it (app only). */
  busMs: number;
  failed: number;
}
export interface MemorySample {
  heapUsed: number;
  external: number;
  rss: number;
}

export interface Commands {
  setup(args: SetupArgs): Promise<{ tokens: string[] }>;
  publish(args: PublishArgs): Promise<PublishResult>;
  broadcast(args: { n: number; padBytes: number }): Promise<void>;
  memory(): MemorySample;
  cpuSeconds(): number;
  connections(): number;
  /** bcrypt compares at `rounds`, `concurrency` at a time (baseline of the login storm). */
  hashLoop?(args: { rounds: number; concurrency: number; count: number }): Promise<{ perSecond: number }>;
  /** The bytes the baseline answers `GET /page` with (the app's rendered page). */
  setPage?(args: { html: string }): void;
  exit(): Promise<void>;
}

export type CommandName = keyof Commands;
export interface Request {
  id: number;
  cmd: CommandName;
  args?: unknown;
}
export interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

/**
 * A bench message: a valid SSEXI message whose `js` carries the sequence number and the
 * publish time on the host's monotonic clock, which receivers in other processes read too.
 * Receivers find them with one regular expression (see clients/sse-client.ts).
 */
export function benchMessage(n: number, t: number, pad: string): { js: { n: number; t: number; p: string } } {
  return { js: { n, t, p: pad } };
}

/** The recipients' order for `publish`: a seeded generator, so both servers get the same load. */
export function recipientSequence(count: number, users: number, seed = 12345): number[] {
  let state = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out.push(state % users);
  }
  return out;
}

/** Answers the runner's commands; `port` is announced once listening. */
export function serveCommands(commands: Commands, port: number): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  const send = (reply: Reply) => process.send?.(reply);
  process.on('message', async (request: Request) => {
    try {
      if (request.cmd === 'memory') {
        gc?.();
        gc?.();
      }
      const handler = commands[request.cmd] as ((args: unknown) => unknown) | undefined;
      if (!handler) throw new Error(`unknown command ${request.cmd}`);
      send({ id: request.id, result: await handler.call(commands, request.args) });
      if (request.cmd === 'exit') process.exit(0);
    } catch (error) {
      send({
        id: request.id,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
    }
  });
  send({ id: 0, result: { port } });
}

/**
 * Calls `publishOne` `count` times open-loop at `rate`/s (a slow publish does not hold the next
 * one back) and resolves once every call has settled; returns how many failed.
 */
export async function publishPaced(
  args: PublishArgs,
  publishOne: (recipient: number, n: number) => Promise<unknown>,
): Promise<number> {
  const recipients = recipientSequence(args.count, args.users);
  const pending: Promise<unknown>[] = [];
  const begin = performance.now();
  for (let n = 0; n < args.count; n++) {
    const wait = begin + (n * 1000) / args.rate - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(publishOne(recipients[n] as number, n));
  }
  const results = await Promise.allSettled(pending);
  return results.filter((r) => r.status === 'rejected').length;
}
