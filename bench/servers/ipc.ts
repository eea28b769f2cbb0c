/**
 * The bench's control channel to a server process (IPC over `fork`). Both servers — the app and
 * the bare node:http baseline — answer the same commands, so the client drives them identically.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export type Command =
  | { cmd: 'publish'; count: number; ratePerSecond: number | null; padBytes: number }
  | { cmd: 'memory' }
  | { cmd: 'connections' }
  | { cmd: 'exit' };

export interface MemorySample {
  heapUsed: number;
  external: number;
  rss: number;
}

export interface ServerHooks {
  /** Sends one message (carrying `t`, the wall-clock ms it was published, and `n`) to every stream. */
  publish(n: number, padding: string): Promise<void>;
  connections(): number;
  close(): Promise<void>;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export const now = () => performance.timeOrigin + performance.now();

/** Answers the bench's commands until told to exit. */
export function serveCommands(hooks: ServerHooks, port: number): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', async (message: Command) => {
    if (message.cmd === 'publish') {
      const padding = 'x'.repeat(message.padBytes);
      const started = now();
      for (let n = 0; n < message.count; n++) {
        if (message.ratePerSecond !== null) {
          const wait = started + (n * 1000) / message.ratePerSecond - now();
          if (wait > 0) await sleep(wait);
        }
        await hooks.publish(n, padding);
      }
      process.send?.({ done: 'publish', ms: now() - started });
    } else if (message.cmd === 'memory') {
      gc?.();
      gc?.();
      const { heapUsed, external, rss } = process.memoryUsage();
      process.send?.({ done: 'memory', sample: { heapUsed, external, rss } satisfies MemorySample });
    } else if (message.cmd === 'connections') {
      process.send?.({ done: 'connections', count: hooks.connections() });
    } else if (message.cmd === 'exit') {
      await hooks.close();
      process.exit(0);
    }
  });
  process.send?.({ done: 'ready', port });
}
