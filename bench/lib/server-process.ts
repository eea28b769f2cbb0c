/** A server under test in its own process (pinned to the server core), driven over IPC. */
import { type ChildProcess, spawn } from 'node:child_process';
import type { CommandName, Commands, Reply, Request } from '../servers/ipc.ts';
import { processCpuSeconds } from './machine.ts';

export type ServerKind = 'app' | 'baseline';

const SCRIPTS: Record<ServerKind, URL> = {
  app: new URL('../servers/app-server.ts', import.meta.url),
  baseline: new URL('../servers/baseline-server.ts', import.meta.url),
};

type Result<K extends CommandName> = Awaited<ReturnType<NonNullable<Commands[K]>>>;
type Args<K extends CommandName> = Parameters<NonNullable<Commands[K]>>[0];

export class ServerProcess {
  readonly kind: ServerKind;
  readonly port: number;
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  private constructor(kind: ServerKind, child: ChildProcess, port: number) {
    this.kind = kind;
    this.child = child;
    this.port = port;
    child.on('message', (reply: Reply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (reply.error !== undefined) waiter.reject(new Error(`${kind} server: ${reply.error}`));
      else waiter.resolve(reply.result);
    });
    child.on('exit', (code, signal) => {
      for (const waiter of this.waiting.values())
        waiter.reject(new Error(`${kind} server exited (${signal ?? code})`));
      this.waiting.clear();
    });
  }

  /**
   * Starts a server and waits until it listens. `env` reaches the process (BENCH_ENV carries the
   * app's configuration); `core` pins it with taskset. Its stdout (logs) is discarded; stderr shows.
   */
  static start(
    kind: ServerKind,
    options: { core: string | null; env?: Record<string, string> },
  ): Promise<ServerProcess> {
    const node = [process.execPath, '--expose-gc', SCRIPTS[kind].pathname];
    const [command, ...args] = options.core === null ? node : ['taskset', '-c', options.core, ...node];
    const child = spawn(command as string, args, {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, ...options.env },
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${kind} server did not start within 120 s`));
      }, 120_000);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`${kind} server exited during start-up (code ${code})`));
      };
      child.once('exit', onExit);
      child.once('message', (reply: Reply) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(new ServerProcess(kind, child, (reply.result as { port: number }).port));
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  call<K extends CommandName>(cmd: K, args?: Args<K>, timeoutMs = 600_000): Promise<Result<K>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.kind} server: no answer to ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as Result<K>);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ id, cmd, args } satisfies Request);
    });
  }

  /** CPU seconds the server has used so far, read from outside (it need not answer). */
  cpuSeconds(): number {
    return processCpuSeconds(this.pid);
  }

  /** Resolves once the server counts `count` open streams. */
  async waitForConnections(count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const open = await this.call('connections');
      if (open === count) return;
      if (Date.now() > deadline)
        throw new Error(`${this.kind} server has ${open} streams, expected ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.call('exit', undefined, 15_000).catch(() => this.child.kill('SIGKILL'));
    await exited;
    clearTimeout(timer);
  }
}
