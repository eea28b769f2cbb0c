/**
 * Password hashing. bcrypt `$2b$` hashes interoperate with the Python template's passlib/bcrypt
 * rows, so existing users log in unchanged. Threats handled here:
 * - user enumeration by timing: `verifyPassword` with no stored hash still runs one bcrypt
 *   comparison against a dummy hash of the same cost;
 * - bcrypt's silent truncation at 72 bytes: new passwords longer than that are refused instead of
 *   being cut, so two different passwords never share a hash;
 * - hash-flooding DoS: anything over MAX_PASSWORD_LENGTH is refused before bcrypt runs.
 * bcrypt runs on libuv's thread pool, so hashing never blocks the event loop.
 */
import bcrypt from 'bcrypt';

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

/** A hasher at a fixed bcrypt cost (BCRYPT_ROUNDS). */
export function createPasswordHasher(rounds: number): PasswordHasher {
  let dummyHash: Promise<string> | undefined;
  return {
    async hash(password) {
      const problem = checkNewPassword(password);
      if (problem) throw new TypeError(`cannot hash password: ${problem}`);
      return bcrypt.hash(password, rounds);
    },
    async verify(password, hash) {
      if (password.length > MAX_PASSWORD_LENGTH) return false;
      if (hash === null || !BCRYPT_HASH.test(hash)) {
        dummyHash ??= bcrypt.hash('timing equalisation for unknown users', rounds);
        await bcrypt.compare(password, await dummyHash);
        return false;
      }
      // PHP-style `$2y$` is the same algorithm as `$2b$`; node's bcrypt only knows the latter.
      return bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$'));
    },
  };
}

const BCRYPT_HASH = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
