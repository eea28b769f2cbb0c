/**
 * The real entry point, `node src/server.ts`, as a child process: what `npm start` runs. For
 * tests of start-up itself (configuration refused, keys generated, warnings logged).
 */
import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url));

export interface ServerProcess {
  /** Base URL once it listens. */
  url: string;
  /** Output so far. */
  output(): { stdout: string; stderr: string };
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export interface ServerExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts the server in `cwd` with only `env` (plus PATH, HOST 127.0.0.1 and a random port
 * unless given). Resolves once it listens, or with its exit when it stops before that.
 */
export function startServerProcess(
  t: TestContext,
  cwd: string,
  env: Record<string, string>,
): Promise<ServerProcess | ServerExit> {
  const child = spawn(process.execPath, [SERVER], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', BCRYPT_ROUNDS: '4', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let exited = false;
  const exit = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      exited = true;
      resolve(code);
    });
  });
  t.after(() => {
    if (!exited) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server neither listened nor exited: ${stdout}${stderr}`));
    }, 20_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (!listening?.[1]) return;
      clearTimeout(timer);
      resolve({
        url: listening[1],
        output: () => ({ stdout, stderr }),
        async stop() {
          child.kill('SIGTERM');
          return exit;
        },
      });
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    void exit.then((code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function isRunning(result: ServerProcess | ServerExit): result is ServerProcess {
  return 'url' in result;
}
