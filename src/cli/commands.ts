/**
 * What each CLI command does, given its collaborators: no process, argv or terminal here, so the
 * behaviour is the same whether it is driven by `main.ts` or by a test. Outcomes are values
 * (an exit code and the lines to print); only unexpected failures throw.
 */
import type { PasswordProblem } from '../auth/password-policy.ts';
import type { AuthService, SessionEndReason } from '../auth/service.ts';
import type { SessionRow } from '../auth/sessions.ts';
import { isValidUsername } from '../auth/users.ts';
import { type CliCommand, USAGE } from './args.ts';

export const EXIT = { ok: 0, refused: 1, usage: 2, environment: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface CommandResult {
  code: ExitCode;
  /** For stdout (results) — `list` prints only names, so it can be piped. */
  stdout: string[];
  /** For stderr (confirmations, problems). */
  stderr: string[];
}

export interface CommandDeps {
  auth: Pick<AuthService, 'users' | 'passwords' | 'sessions' | 'logoutEverywhere' | 'removeUser'>;
  /** The password policy (src/auth/password-policy.ts) with the configured minimum length. */
  checkPassword(password: string, username: string): PasswordProblem | null;
  /** Asks for the new password when `--password` was not given. */
  readPassword(prompt: string): Promise<string>;
  /**
   * Tells running servers a user's sessions ended so their open streams close now. Resolves to
   * null when they were told, or to a note saying why they could not be (e.g. no REDIS_URL).
   */
  announceSessionEnd(username: string, reason: SessionEndReason): Promise<string | null>;
  /**
   * Deletes a removed user's messages from the event log, so a new account of the same name
   * cannot replay them. Resolves to null when done, or to a note saying why it could not be.
   */
  forgetMessages(username: string): Promise<string | null>;
}

const done = (stderr: string[], stdout: string[] = []): CommandResult => ({ code: EXIT.ok, stdout, stderr });
const fail = (code: ExitCode, message: string): CommandResult => ({ code, stdout: [], stderr: [message] });

const notes = (note: string | null) => (note === null ? [] : [note]);

/** Runs one parsed command against the database the deps wrap. */
export async function runCommand(command: CliCommand, deps: CommandDeps): Promise<CommandResult> {
  const { users, passwords } = deps.auth;
  switch (command.name) {
    case 'help':
      return done([], [USAGE]);
    case 'list':
      return done(
        [],
        (await users.list()).map((u) => u.username),
      );
    case 'add':
    case 'passwd': {
      // New names must fit in URLs; existing (adopted) names are only looked up.
      if (command.name === 'add' && !isValidUsername(command.username))
        return fail(
          EXIT.usage,
          `Invalid username "${command.username}": use 1-64 letters, digits, "_", "." or "-".`,
        );
      const existing = await users.findByUsername(command.username);
      if (command.name === 'add' && existing)
        return fail(EXIT.refused, `User "${command.username}" already exists.`);
      if (command.name === 'passwd' && !existing) return fail(EXIT.refused, `No user "${command.username}".`);
      const password = command.password ?? (await deps.readPassword(`Password for ${command.username}: `));
      const problem = deps.checkPassword(password, command.username);
      if (problem) return fail(EXIT.usage, `Refused: ${problem.message}`);
      const hash = await passwords.hash(password);
      if (command.name === 'passwd') {
        await users.setPassword(command.username, hash);
        // A password is changed because the old one may be known: its sessions end too (ASVS 3.3.3).
        await deps.auth.logoutEverywhere(command.username, 'password-changed');
        const note = await deps.announceSessionEnd(command.username, 'password-changed');
        return done([
          `Password changed for "${command.username}"; their sessions have ended.`,
          ...notes(note),
        ]);
      }
      // The insert itself refuses a name taken since the look-up (another process).
      if (!(await users.create(command.username, hash)))
        return fail(EXIT.refused, `User "${command.username}" already exists.`);
      return done([`Created user "${command.username}".`]);
    }
    case 'sessions': {
      const user = await users.findByUsername(command.username);
      if (!user) return fail(EXIT.refused, `No user "${command.username}".`);
      const rows = await deps.auth.sessions.listActive(user.id, Math.floor(Date.now() / 1000));
      return done([`${rows.length} active session(s) of "${command.username}".`], rows.map(formatSession));
    }
    case 'remove': {
      if (!(await deps.auth.removeUser(command.username)))
        return fail(EXIT.refused, `No user "${command.username}".`);
      const note = await deps.announceSessionEnd(command.username, 'removed');
      const forgot = await deps.forgetMessages(command.username);
      return done([
        `Removed user "${command.username}" and their courses.`,
        ...notes(note),
        ...notes(forgot),
      ]);
    }
    case 'logout-all': {
      if (!(await deps.auth.logoutEverywhere(command.username)))
        return fail(EXIT.refused, `No user "${command.username}".`);
      const note = await deps.announceSessionEnd(command.username, 'logout-all');
      return done([`Ended every session of "${command.username}".`, ...notes(note)]);
    }
  }
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

/** One session a line, tab-separated: id, signed in, last seen, expires, address, user agent. */
export function formatSession(row: SessionRow): string {
  const agent = row.user_agent.replace(/[\t\r\n]/g, ' ') || '-';
  return [row.id, iso(row.created_at), iso(row.last_seen_at), iso(row.expires_at), row.ip || '-', agent].join(
    '\t',
  );
}
