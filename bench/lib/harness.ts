/** The bench's client side: server processes driven over IPC, and many SSE readers. */
import { type ChildProcess, fork } from 'node:child_process';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { Command, MemorySample } from '../servers/ipc.ts';
import { now } from '../servers/ipc.ts';

type Reply = { done: string; [key: string]: unknown };

/** A server running in its own process, so its memory and CPU are its own. */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
  }

  static async start(script: URL): Promise<ServerProcess> {
    const child = fork(script, { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await nextReply(child, 'ready', 30_000);
    return new ServerProcess(child, Number(ready.port));
  }

  async send(command: Command, timeoutMs = 60_000): Promise<Reply> {
    const reply = nextReply(this.child, command.cmd, timeoutMs);
    this.child.send(command);
    return reply;
  }

  async memory(): Promise<MemorySample> {
    return (await this.send({ cmd: 'memory' })).sample as MemorySample;
  }

  /** Resolves once the server counts `count` open streams (connects and closes are asynchronous). */
  async waitForConnections(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Number((await this.send({ cmd: 'connections' })).count) !== count) {
      if (Date.now() > deadline) throw new Error(`server never reached ${count} streams`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ cmd: 'exit' } satisfies Command);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

function nextReply(child: ChildProcess, done: string, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`no "${done}" reply within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: Reply) => {
      if (message.done !== done) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
  });
}

/** Many SSE readers sharing one tally of received messages and their delivery latencies. */
export class StreamSet {
  latencies: number[] = [];
  received = 0;
  private readonly controllers: AbortController[] = [];
  private waiter: { target: number; resolve: () => void } | null = null;

  /** Opens `count` streams, `concurrency` at a time. */
  async open(url: string, headers: Record<string, string>, count: number, concurrency = 50): Promise<void> {
    for (let i = 0; i < count; i += concurrency) {
      const batch = Math.min(concurrency, count - i);
      await Promise.all(Array.from({ length: batch }, () => this.openOne(url, headers)));
    }
  }

  private async openOne(url: string, headers: Record<string, string>): Promise<void> {
    const controller = new AbortController();
    this.controllers.push(controller);
    const response = await fetch(url, { headers, signal: controller.signal });
    if (response.status !== 200 || !response.body) throw new Error(`stream refused: ${response.status}`);
    const events = response.body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream());
    (async () => {
      try {
        for await (const event of events) {
          const { js } = JSON.parse(event.data) as { js: { t: number } };
          this.latencies.push(now() - js.t);
          this.received++;
          if (this.waiter && this.received >= this.waiter.target) this.waiter.resolve();
        }
      } catch {
        // aborted by close()
      }
    })();
  }

  reset(): void {
    this.latencies = [];
    this.received = 0;
  }

  /** Resolves once `target` messages have arrived in total. */
  waitFor(target: number, timeoutMs = 60_000): Promise<void> {
    if (this.received >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${this.received}/${target} messages within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiter = {
        target,
        resolve: () => {
          clearTimeout(timer);
          this.waiter = null;
          resolve();
        },
      };
    });
  }

  close(): void {
    for (const controller of this.controllers.splice(0)) controller.abort();
  }
}

/** The p-th percentile (0–100) of `values`, by nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}
