/** HTTP load with wrk (a separate process on the load cores), parsed into numbers. */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx/3xx answers plus connect/read/write errors: any of them makes the run invalid. */
  errors: number;
  /** Requests with no answer within wrk's timeout (TIMEOUT_SECONDS): reported, not fatal. */
  timeouts: number;
}

/** How long wrk waits for an answer before counting a timeout. */
const TIMEOUT_SECONDS = 10;

export function hasWrk(): Promise<boolean> {
  return run('wrk', ['--version']).then(
    () => true,
    (error: { stdout?: string }) => /wrk/.test(error.stdout ?? ''),
  );
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function durationMs(text: string | undefined): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  return match ? Number(match[1]) * (UNIT_MS[match[2] as string] ?? Number.NaN) : Number.NaN;
}

/** Parses wrk's report (run with --latency). */
export function parseWrk(output: string): WrkResult {
  const number = (re: RegExp) => Number(re.exec(output)?.[1] ?? Number.NaN);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const errors =
    (Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0) || 0) +
    (socketErrors ? socketErrors.slice(1, 4).reduce((sum, n) => sum + Number(n), 0) : 0);
  return {
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    requests: number(/(\d+) requests in/),
    p50Ms: durationMs(/\s50%\s+([\d.]+\w+)/.exec(output)?.[1]),
    p99Ms: durationMs(/\s99%\s+([\d.]+\w+)/.exec(output)?.[1]),
    errors,
    timeouts: Number(socketErrors?.[4] ?? 0),
  };
}

/** Runs wrk against `url` for `seconds` with `connections` keep-alive connections. */
export async function wrk(
  url: string,
  options: { seconds: number; connections: number; headers?: Record<string, string> },
): Promise<WrkResult> {
  const threads = Math.min(4, Math.max(1, os.availableParallelism() - 1));
  const args = [
    '-t',
    String(threads),
    '-c',
    String(options.connections),
    '-d',
    `${options.seconds}s`,
    '--latency',
  ];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  const { stdout } = await run('wrk', [...args, url], {
    timeout: (options.seconds + TIMEOUT_SECONDS + 30) * 1000,
  });
  return parseWrk(stdout);
}
