/**
 * `WORKERS=N`: N server processes sharing one port through node:cluster (the primary accepts
 * connections and hands them round-robin to the workers). The primary runs no app: it forks,
 * restarts a worker that dies, and stops them all on SIGTERM/SIGINT. Workers are separate
 * processes with separate memory, so streams and publishes reach each other only through Redis —
 * which is why config refuses WORKERS > 1 without REDIS_URL.
 *
 * Restarts back off: a worker that dies soon after starting is restarted after 0.1 s, 0.2 s, 0.4 s…
 * up to 30 s, so a crash loop (a bad deploy, the database refusing connections at start) neither
 * spins the CPU nor floods the logs; a worker that ran for a minute resets the back-off.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

const MIN_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that lived this long counts as healthy: its successor starts without delay. */
const STABLE_AFTER_MS = 60_000;
/** Workers get this long to finish streams and requests before they are killed. */
const SHUTDOWN_LIMIT_MS = 15_000;

/** The delay before the next restart after `failures` quick deaths in a row. */
export function restartDelayMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(MAX_RESTART_DELAY_MS, MIN_RESTART_DELAY_MS * 2 ** (failures - 1));
}

export function runPrimary(workers: number, log: Logger): void {
  const startedAt = new Map<number, number>();
  let quickDeaths = 0;
  let stopping = false;

  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
    // A message to a worker that just died fails with an 'error' on it; unheard, it would end
    // the primary and with it every worker.
    worker.on('error', (err) => log.warn({ err, workerPid: worker.process.pid }, 'worker channel error'));
  };

  cluster.on('exit', (worker: Worker, code: number | null, signal: string | null) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info('all workers stopped');
        process.exit(0);
      }
      return;
    }
    quickDeaths = lived >= STABLE_AFTER_MS ? 0 : quickDeaths + 1;
    const delay = restartDelayMs(quickDeaths);
    // `workerPid`, not `pid`: pino already writes the primary's own pid on every line.
    log.error({ workerPid: worker.process.pid, code, signal, restartInMs: delay }, 'worker died; restarting');
    setTimeout(fork, delay);
  });

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping workers');
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (alive.length === 0) process.exit(0);
    for (const worker of alive) worker.process.kill('SIGTERM');
    setTimeout(() => {
      log.error('workers did not stop in time; killing them');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  log.info({ workers }, 'starting workers');
  for (let i = 0; i < workers; i++) fork();
}
