/**
 * Command-line parsing for the user-management CLI. Pure: argv in, a command or a usage problem
 * out, so every shape is unit-tested without spawning a process.
 */
import { parseArgs } from 'node:util';

export type CliCommand =
  | { name: 'add' | 'passwd'; username: string; password: string | null }
  | { name: 'remove' | 'logout-all' | 'sessions'; username: string }
  | { name: 'list' }
  | { name: 'help' };

export type ParsedArgs = { ok: true; command: CliCommand } | { ok: false; problem: string };

export const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  add <username> [--password <pw>]     create a user (password prompted, or read from piped stdin)
  passwd <username> [--password <pw>]  set a user's password and end their sessions
  remove <username>                    delete a user, their courses, and every session
  list                                 print every username, one a line
  logout-all <username>                end every session of a user ("log out everywhere")
  sessions <username>                  list a user's active sessions (tab-separated: id, signed in,
                                       last seen, expires, address, user agent)
  help                                 show this text

Reads the server's configuration (environment and .env): DATABASE_URL, BCRYPT_ROUNDS, REDIS_URL…
Exit codes: 0 done · 1 refused (user exists / not found) · 2 usage or invalid input ·
3 configuration or database error.`;

const WITH_USERNAME = new Set(['add', 'passwd', 'remove', 'logout-all', 'sessions']);
const WITH_PASSWORD = new Set(['add', 'passwd']);

/** Parses the arguments after `main.ts`: `<command> [username] [--password <pw>]`. */
export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (values.help || name === undefined || name === 'help') {
    if (rest.length > 0) return { ok: false, problem: `unexpected argument "${rest[0]}"` };
    return { ok: true, command: { name: 'help' } };
  }
  if (name !== 'list' && !WITH_USERNAME.has(name)) return { ok: false, problem: `unknown command "${name}"` };
  if (values.password !== undefined && !WITH_PASSWORD.has(name))
    return { ok: false, problem: `${name} takes no --password` };
  if (name === 'list') {
    if (rest.length > 0) return { ok: false, problem: `list takes no arguments, got "${rest[0]}"` };
    return { ok: true, command: { name } };
  }
  const [username, extra] = rest;
  if (username === undefined) return { ok: false, problem: `${name} needs a username` };
  if (extra !== undefined) return { ok: false, problem: `unexpected argument "${extra}"` };
  if (name === 'add' || name === 'passwd')
    return { ok: true, command: { name, username, password: values.password ?? null } };
  return { ok: true, command: { name: name as 'remove' | 'logout-all' | 'sessions', username } };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      password: { type: 'string', short: 'p' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
