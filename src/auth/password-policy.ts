/**
 * The password policy for every new password — sign-up, change, reset and the CLI — as NIST
 * SP 800-63B (§5.1.1.2) asks of a verifier: a minimum length (PASSWORD_MIN_LENGTH, at least 8),
 * no composition rules (no "one digit, one symbol"), and a check against passwords known to be
 * common or breached, plus the context-specific case the standard names: the account's own name.
 * The upper bound is bcrypt's: it reads 72 bytes and silently ignores the rest, so a longer
 * password is refused rather than cut.
 *
 * The blocklist is `@zxcvbn-ts/language-common`'s 49,000 most common passwords (from breach
 * corpora), shipped in the npm package: nothing is fetched at run time. It is compared without
 * regard to case, since "Password1" is no stronger than "password1".
 */
import { createRequire } from 'node:module';
import { MAX_PASSWORD_BYTES } from './passwords.ts';

export type PasswordRule = 'too-short' | 'too-long' | 'common' | 'username';

export interface PasswordProblem {
  rule: PasswordRule;
  /** One sentence for the user, naming the rule. */
  message: string;
}

/**
 * Loaded on the first check, not at start-up: the list and its Set cost ~20 MB and tens of
 * milliseconds, and most processes (every request that sets no password, the CLI's other
 * commands) never need them.
 */
let commonPasswords: ReadonlySet<string> | undefined;
function isCommonPassword(lower: string): boolean {
  if (commonPasswords === undefined) {
    const { dictionary } = createRequire(import.meta.url)('@zxcvbn-ts/language-common') as {
      dictionary: Record<string, string[]>;
    };
    commonPasswords = new Set(dictionary['passwords-common']);
  }
  return commonPasswords.has(lower);
}

/**
 * Why `password` may not become the password of `username`, or null when it may. Length counts
 * characters (code points), as a user would; the byte bound is bcrypt's.
 */
export function checkPasswordPolicy(
  password: string,
  context: { username: string; minLength: number },
): PasswordProblem | null {
  if ([...password].length < context.minLength)
    return { rule: 'too-short', message: `Password must be at least ${context.minLength} characters long.` };
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES)
    return { rule: 'too-long', message: `Password must be at most ${MAX_PASSWORD_BYTES} bytes long.` };
  const lower = password.toLowerCase();
  if (isUsernameWithDigits(lower, context.username.toLowerCase()))
    return { rule: 'username', message: 'Password must not be your username (with or without digits).' };
  if (isCommonPassword(lower))
    return {
      rule: 'common',
      message: 'This password is on a list of commonly used passwords; choose another.',
    };
  return null;
}

/**
 * Whether `password` is `name` with only digits before and after it (both lower-cased). Digits are
 * not stripped from the password: a name that begins or ends with digits would lose them too, and
 * the name itself would pass.
 */
function isUsernameWithDigits(password: string, name: string): boolean {
  if (name === '') return false;
  for (let at = password.indexOf(name); at !== -1; at = password.indexOf(name, at + 1))
    if (/^\d*$/.test(password.slice(0, at)) && /^\d*$/.test(password.slice(at + name.length))) return true;
  return false;
}
