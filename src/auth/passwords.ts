/**
 * Password hashing. bcrypt `$2b$` hashes interoperate with the Python template's passlib/bcrypt
 * rows, so existing users log in unchanged. Threats handled here:
 * - user enumeration by timing: `verifyPassword` with no stored hash still runs one bcrypt
 *   comparison against a dummy hash of the same cost;
 * - bcrypt's silent truncation at 72 bytes: new passwords longer than that are refused instead of
 *   being cut, so two different passwords never share a hash;
 * - hash-flooding DoS: anything over MAX_PASSWORD_LENGTH is refused before bcrypt runs;
 * - CPU exhaustion by many attempts at once: every hash and comparison goes through one bounded
 *   queue (hashing-queue.ts), a slot per core the event loop leaves free; a queue too long to
 *   wait for is refused with 503, for every account alike.
 * bcrypt runs on libuv's thread pool, so hashing never blocks the event loop.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type bcryptModule from 'bcrypt';
import { createHashingQueue, type HashingQueue } from './hashing-queue.ts';

/**
 * The native addon, loaded at the first hash: a server starts without it (config and routes
 * import this module for its limits). CommonJS, so `require` keeps this synchronous.
 */
let loaded: typeof bcryptModule | undefined;
const bcrypt = () => {
  loaded ??= createRequire(import.meta.url)('bcrypt') as typeof bcryptModule;
  return loaded;
};

/**
 * Hashes at once: the cores left beside the event loop (os.availableParallelism() follows CPU
 * affinity, so a server pinned to one core hashes one at a time), and one thread fewer than
 * libuv's pool so file and DNS work always find a thread. At least one.
 */
export function defaultHashingConcurrency(
  cores = availableParallelism(),
  threadPool = Number(process.env.UV_THREADPOOL_SIZE) || 4,
): number {
  return Math.max(1, Math.min(cores - 1, threadPool - 1));
}

/**
 * Longest expected wait for a hashing slot before a login (or sign-up) is refused with 503: below
 * the 60 s a proxy usually waits for an answer, so the refusal still reaches the client.
 */
const MAX_HASHING_WAIT_MS = 30_000;
/** Hard cap on waiting hashes, whatever their expected wait. */
const MAX_HASHES_WAITING = 1000;

/** bcrypt only reads the first 72 bytes of its input. */
export const MAX_PASSWORD_BYTES = 72;
/** Longer input is refused outright at login, before any hashing. */
export const MAX_PASSWORD_LENGTH = 1024;
export const MIN_PASSWORD_LENGTH = 1;

export type PasswordProblem = 'empty' | 'too-long';

/** Why a new password cannot be stored, or null when it can. */
export function checkNewPassword(password: string): PasswordProblem | null {
  if (password.length < MIN_PASSWORD_LENGTH) return 'empty';
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return 'too-long';
  return null;
}

export interface PasswordHasher {
  /** Hashes a new password; one `checkNewPassword` refuses is a caller error (TypeError). */
  hash(password: string): Promise<string>;
  /**
   * Checks a password against a stored hash. With `hash` null (unknown user) it compares against
   * a dummy hash of the same cost and returns false, so both paths take the same time.
   */
  verify(password: string, hash: string | null): Promise<boolean>;
}

/**
 * A hasher at a fixed bcrypt cost (BCRYPT_ROUNDS). Every hash and comparison takes a slot of
 * `queue` (by default its own, sized by `defaultHashingConcurrency`); when the wait would be
 * too long they reject with ServiceUnavailableError.
 */
export function createPasswordHasher(
  rounds: number,
  queue: HashingQueue = createHashingQueue({
    concurrency: defaultHashingConcurrency(),
    maxWaitMs: MAX_HASHING_WAIT_MS,
    maxWaiting: MAX_HASHES_WAITING,
  }),
): PasswordHasher {
  let dummyHash: Promise<string> | undefined;
  const compare = (password: string, hash: string) => queue.run(() => bcrypt().compare(password, hash));
  return {
    async hash(password) {
      const problem = checkNewPassword(password);
      if (problem) throw new TypeError(`cannot hash password: ${problem}`);
      return queue.run(() => bcrypt().hash(password, rounds));
    },
    async verify(password, hash) {
      if (password.length > MAX_PASSWORD_LENGTH) return false;
      if (hash === null || !BCRYPT_HASH.test(hash)) {
        // Made once; a refused first attempt leaves it to the next.
        dummyHash ??= queue.run(() => bcrypt().hash('timing equalisation for unknown users', rounds));
        const made = dummyHash;
        made.catch(() => {
          if (dummyHash === made) dummyHash = undefined;
        });
        await compare(password, await made);
        return false;
      }
      // PHP-style `$2y$` is the same algorithm as `$2b$`; node's bcrypt only knows the latter.
      return compare(password, hash.replace(/^\$2y\$/, '$2b$'));
    },
  };
}

const BCRYPT_HASH = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
