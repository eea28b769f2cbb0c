import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Node 24 from the `node` devDependency, whatever the system Node is. */
export const NODE = `${ROOT}node_modules/.bin/node`;

/** Production-like settings for a server run as its own process. */
export const PROCESS_ENV = {
  DEBUG: 'false',
  SECRET_KEY: 'process-test-secret-key-0123456789-abcdef',
  INITIAL_USERS: 'mark:pass123,luke:pass456',
  BCRYPT_ROUNDS: '4',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
};

export interface ServerProcess {
  child: ChildProcess;
  /** Every JSON log line so far (other output is kept in `text`). */
  readonly lines: Record<string, unknown>[];
  readonly text: string;
  /** Resolves with the first line (from now or earlier) that matches; rejects after `timeoutMs`. */
  waitFor(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves once the output (JSON or not) matches `pattern`; rejects after `timeoutMs`. */
  waitForText(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
}

/** Runs `command` (by default the server) in its own process, killed after the test if still running. */
export function spawnServer(
  t: TestContext,
  env: Record<string, string>,
  command: { file: string; args: string[] } = { file: NODE, args: ['src/server.ts'] },
): ServerProcess {
  const child = spawn(command.file, command.args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let text = '';
  let pending = '';
  const take = (chunk: string) => {
    text += chunk;
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) {
      if (!part.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(part));
      } catch {
        // not a log line
      }
    }
    for (const waiter of waiters) waiter();
  };
  child.stdout?.setEncoding('utf8').on('data', take);
  child.stderr?.setEncoding('utf8').on('data', take);
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    lines,
    get text() {
      return text;
    },
    exited,
    waitForText: async (pattern, timeoutMs = 15_000) => {
      await waitUntil(() => (pattern.test(text) ? true : undefined), timeoutMs);
    },
    waitFor: (match, timeoutMs = 15_000) => waitUntil(() => lines.find(match), timeoutMs),
  };

  /** Resolves with `found()` once it is defined, checked on every chunk of output. */
  function waitUntil<T>(found: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = found();
        if (value === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching log line within ${timeoutMs} ms; output:\n${text.slice(-4000)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  }
}

/** The URL a "Server listening at …" line names. */
export function listeningUrl(line: Record<string, unknown>): string {
  const match = /listening at (http:\/\/[^\s]+)/.exec(String(line.msg));
  if (!match?.[1]) throw new Error(`not a listening line: ${JSON.stringify(line)}`);
  return match[1];
}

/** True while a process with this pid exists. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
