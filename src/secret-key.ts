/**
 * SECRET_KEY signs every session: whoever knows it can mint a token for any user. Threats and
 * answers:
 * - a key published with the code (a template's development default, a tutorial's placeholder):
 *   such keys are refused in every mode, and development gets a random key of its own instead,
 *   generated on first start into a git-ignored file, as Rails does for its development secret;
 * - a guessable production key: with DEBUG=false a key must pass `secretKeyProblem`;
 * - a development server reachable from the network: see `startupWarnings`.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where development keeps its generated key (relative to the working directory; git-ignored). */
export const DEV_SECRET_KEY_FILE = '.dev-secret-key';

/** Keys that ship in templates and tutorials, this project's former development key included. */
const PUBLISHED_KEYS = new Set([
  'your_secret_key_here',
  'your-secret-key-here',
  'your-secret-key',
  'secret',
  'secret-key',
  'secret_key',
  'changeme',
  'change-me',
  'change_me',
  'dev-secret-change-me',
]);

export const MIN_SECRET_BYTES = 32;
const MIN_DISTINCT_CHARACTERS = 8;

/** True for a key published somewhere (refused in every mode). */
export function isPublishedKey(key: string): boolean {
  return PUBLISHED_KEYS.has(key.trim().toLowerCase());
}

/**
 * Why `key` is too weak for production, or null when it passes. The rule, stated in SECURITY.md:
 * at least 32 bytes; at least 8 different characters; not one shorter block repeated
 * (`abcabc…`); not mostly a run of consecutive characters (`abcdef…`, `123456…`). Random keys
 * pass with overwhelming probability (`openssl rand -base64 48`, `openssl rand -hex 32`).
 */
export function secretKeyProblem(key: string): string | null {
  if (Buffer.byteLength(key) < MIN_SECRET_BYTES) return `must be at least ${MIN_SECRET_BYTES} bytes`;
  const chars = [...key];
  if (new Set(chars).size < MIN_DISTINCT_CHARACTERS)
    return `has too little variety (fewer than ${MIN_DISTINCT_CHARACTERS} different characters)`;
  if (repeatsABlock(key)) return 'is one short block repeated';
  let steps = 0;
  for (let i = 1; i < chars.length; i++)
    if (Math.abs((chars[i]?.codePointAt(0) ?? 0) - (chars[i - 1]?.codePointAt(0) ?? 0)) === 1) steps++;
  if (steps * 2 > chars.length - 1) return 'is mostly a run of consecutive characters';
  return null;
}

function repeatsABlock(key: string): boolean {
  for (let size = 1; size <= key.length / 2; size++) {
    if (key.length % size !== 0) continue;
    if (key.slice(0, size).repeat(key.length / size) === key) return true;
  }
  return false;
}

/**
 * The development key: read from `DEV_SECRET_KEY_FILE` in `dir`, or generated there on first use
 * (48 random bytes, base64url; file mode 0600). Created atomically — written under another name,
 * then linked into place — so processes starting together agree on one key.
 */
export function loadOrCreateDevSecretKey(dir: string = process.cwd()): string {
  const path = resolve(dir, DEV_SECRET_KEY_FILE);
  const existing = readKey(path);
  if (existing !== null) return existing;
  const staging = mkdtempSync(join(dir, '.dev-secret-key-'));
  try {
    const draft = join(staging, 'key');
    writeFileSync(draft, `${randomBytes(48).toString('base64url')}\n`, { mode: 0o600 });
    chmodSync(draft, 0o600);
    try {
      linkSync(draft, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const created = readKey(path);
  if (created === null) throw new Error(`${path} holds no key`);
  return created;
}

function readKey(path: string): string | null {
  try {
    const key = readFileSync(path, 'utf8').trim();
    return key === '' ? null : key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * The environment the entry points (server, CLI) configure from: in DEBUG without SECRET_KEY,
 * SECRET_KEY comes from the development key file, so tokens survive restarts and the CLI and the
 * server share Redis namespaces. Any other case is left to `loadConfig`.
 */
export function withDevSecretKey(
  env: Record<string, string | undefined>,
  debug: boolean,
  dir: string = process.cwd(),
): Record<string, string | undefined> {
  if (!debug || (env.SECRET_KEY ?? '').trim() !== '') return env;
  return { ...env, SECRET_KEY: loadOrCreateDevSecretKey(dir) };
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\]|::ffff:127(\.\d{1,3}){3})$/i;

/** Warnings for a configuration that is risky but allowed; logged loudly at start. */
export function startupWarnings(config: { debug: boolean; host: string }): string[] {
  if (!config.debug || LOOPBACK.test(config.host)) return [];
  return [
    `DEBUG is on and the server listens on ${config.host}, beyond this machine. DEBUG is for ` +
      'development: it creates the demo users mark/pass123 and luke/pass456 (unless INITIAL_USERS ' +
      'says otherwise) and sends cookies without Secure and pages without HSTS. ' +
      'Set DEBUG=false for anything reachable from a network.',
  ];
}
