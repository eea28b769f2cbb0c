/** The runner's side of the SSE reader processes (clients/sse-client.ts). */
import { type ChildProcess, fork } from 'node:child_process';
import type { ClientCommand, ClientReply, StreamSpec } from '../clients/sse-client.ts';

const SCRIPT = new URL('../clients/sse-client.ts', import.meta.url);
/** Streams per reader process: well under the ~20,000 open files a process may hold. */
const STREAMS_PER_PROCESS = 2500;
/** Source addresses the readers connect from, so 10,000s of sockets never run out of ports. */
const LOCAL_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);

export interface BroadcastResult {
  /** ms from publish until the last stream had the message. */
  lastMs: number;
  delivered: number;
}

export class ClientPool {
  private readonly workers: ChildProcess[];
  private readonly sizes: number[];
  private readonly listeners = new Set<(reply: ClientReply) => void>();
  private closed = false;

  private constructor(workers: ChildProcess[], sizes: number[]) {
    this.workers = workers;
    this.sizes = sizes;
    for (const worker of workers)
      worker.on('message', (reply: ClientReply) => {
        for (const listener of this.listeners) listener(reply);
      });
  }

  /** Forks readers (they inherit this process's load cores) and opens `streams` on `port`. */
  static async open(port: number, streams: StreamSpec[]): Promise<ClientPool> {
    const count = Math.max(1, Math.ceil(streams.length / STREAMS_PER_PROCESS));
    const workers = Array.from({ length: count }, () =>
      fork(SCRIPT, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    const shares = workers.map((_, w) => streams.filter((_, i) => i % count === w));
    const pool = new ClientPool(
      workers,
      shares.map((s) => s.length),
    );
    const opened = await pool.ask('opened', (w) => ({
      cmd: 'open',
      port,
      streams: shares[w] ?? [],
      localAddresses: LOCAL_ADDRESSES,
      concurrency: 100,
    }));
    const failures = opened.flatMap((reply) => reply.failures);
    const open = opened.reduce((sum, reply) => sum + reply.open, 0);
    if (open !== streams.length) {
      await pool.close();
      throw new Error(`only ${open} of ${streams.length} streams opened (${failures.join('; ')})`);
    }
    return pool;
  }

  get size(): number {
    return this.sizes.reduce((a, b) => a + b, 0);
  }

  /**
   * Forgets what arrived so far; with `broadcast`, each reader reports a message once all its
   * streams have it. Resolves once every reader has reset (before anything new is published).
   */
  async reset(broadcast: boolean): Promise<void> {
    await this.ask('reset', (w) => ({ cmd: 'reset', perMessage: broadcast ? (this.sizes[w] ?? 0) : 0 }));
  }

  /** Every delivery latency (ms) recorded since the last reset. */
  async latencies(): Promise<number[]> {
    const replies = await this.ask('latencies', () => ({ cmd: 'latencies' }));
    return replies.flatMap((reply) => reply.values);
  }

  /** Waits until every stream has broadcast `n` (or `timeoutMs` passes, then counts who has it). */
  async waitForBroadcast(n: number, timeoutMs: number): Promise<BroadcastResult> {
    const got = new Map<number, number>();
    const all = new Promise<void>((resolve) => {
      const listener = (reply: ClientReply) => {
        if (reply.type !== 'got' || reply.n !== n) return;
        got.set(got.size, reply.maxLatency);
        if (got.size === this.workers.length) {
          this.listeners.delete(listener);
          resolve();
        }
      };
      this.listeners.add(listener);
      setTimeout(() => {
        this.listeners.delete(listener);
        resolve();
      }, timeoutMs).unref();
    });
    await all;
    if (got.size === this.workers.length) return { lastMs: Math.max(...got.values()), delivered: this.size };
    const counts = await this.ask('count', () => ({ cmd: 'count', n }));
    const delivered = counts.reduce((sum, reply) => sum + reply.count, 0);
    const lastMs =
      delivered === this.size ? Math.max(...counts.map((reply) => reply.maxLatency)) : Number.NaN;
    return { lastMs, delivered };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ask('closed', () => ({ cmd: 'close' })).catch(() => {});
    for (const worker of this.workers) if (worker.connected) worker.kill();
  }

  /** Sends each reader its command and collects one reply of `type` from each. */
  private ask<T extends ClientReply['type']>(
    type: T,
    command: (worker: number) => ClientCommand,
  ): Promise<Extract<ClientReply, { type: T }>[]> {
    return Promise.all(
      this.workers.map(
        (worker, w) =>
          new Promise<Extract<ClientReply, { type: T }>>((resolve, reject) => {
            const onMessage = (reply: ClientReply) => {
              if (reply.type !== type) return;
              worker.off('message', onMessage);
              worker.off('exit', onExit);
              resolve(reply as Extract<ClientReply, { type: T }>);
            };
            const onExit = () => reject(new Error('an SSE reader process exited'));
            worker.on('message', onMessage);
            worker.once('exit', onExit);
            worker.send(command(w));
          }),
      ),
    );
  }
}
