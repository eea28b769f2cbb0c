/**
 * Admission for password hashing, the one deliberately slow thing a request can ask for.
 *
 * Model: at most `concurrency` bcrypt jobs run at once; later ones wait in a FIFO queue. bcrypt
 * runs on libuv's thread pool (4 threads by default), and when all four hash on a machine with
 * fewer free cores, they take CPU from the event loop: every other request — a health check, a
 * stream's heartbeat — waits behind the hashing. Bounded to the cores the event loop leaves free
 * (and to one thread fewer than the pool, so file and DNS work never queue behind hashes), the
 * same logins per second come out while the event loop keeps a core's worth of time.
 *
 * Threats: a flood of logins (or sign-ups) for any accounts, from many addresses (the login
 * throttle already bounds one address). Every attempt costs a full hash, so the queue would grow
 * without bound, each request waiting longer than any client does — then hashing for clients
 * long gone. So a job whose expected wait (the queue ahead of it, divided among the slots, times
 * the recent hash duration) exceeds `maxWaitMs` is refused at once with ServiceUnavailableError
 * (503 and Retry-After), as is one beyond `maxWaiting`; the refusal depends on load alone, never
 * on the account, so it tells nothing about which accounts exist.
 */
import { ServiceUnavailableError } from '../service-unavailable.ts';

export interface HashingQueueOptions {
  /** Jobs running at once (at least 1). */
  concurrency: number;
  /** A job expected to wait longer than this is refused. */
  maxWaitMs: number;
  /** A hard cap on waiting jobs, whatever the estimate. */
  maxWaiting: number;
  now?: () => number;
}

export interface HashingQueue {
  /** Runs `job` when a slot is free; rejects with ServiceUnavailableError when the wait would be too long. */
  run<T>(job: () => Promise<T>): Promise<T>;
  /** Jobs running now and waiting now (for tests and metrics). */
  readonly running: number;
  readonly waiting: number;
}

/** Weight of the newest duration in the running average: recent enough to follow load. */
const SMOOTHING = 0.2;

export function createHashingQueue(options: HashingQueueOptions): HashingQueue {
  const { maxWaitMs, maxWaiting, now = () => performance.now() } = options;
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  const queue: (() => void)[] = [];
  let running = 0;
  let averageMs = 0;

  const refuse = (expectedMs: number) =>
    new ServiceUnavailableError('password-hashing', {
      cause: new Error(`${queue.length} hashes waiting, ~${Math.round(expectedMs)} ms`),
      retryAfterSeconds: Math.min(30, Math.max(1, Math.ceil(expectedMs / 1000))),
    });

  const release = () => {
    const next = queue.shift();
    if (next) next();
    else running--;
  };

  return {
    get running() {
      return running;
    },
    get waiting() {
      return queue.length;
    },
    async run(job) {
      if (running >= concurrency) {
        // Rounds of `concurrency` jobs ahead of this one, this one's own round included.
        const expectedMs = Math.ceil((queue.length + 1) / concurrency) * averageMs;
        if (queue.length >= maxWaiting || expectedMs > maxWaitMs) throw refuse(expectedMs);
        // The slot is handed over by `release` (running stays counted), so nobody arriving
        // meanwhile can take it out of turn.
        await new Promise<void>((resolve) => queue.push(resolve));
      } else {
        running++;
      }
      const started = now();
      try {
        return await job();
      } finally {
        const took = now() - started;
        averageMs = averageMs === 0 ? took : averageMs + SMOOTHING * (took - averageMs);
        release();
      }
    },
  };
}
