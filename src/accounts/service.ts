/**
 * Account operations, shared by the HTML forms and the JSON API: sign-up, password change,
 * email (set, verify), password reset, deletion. Outcomes a user can cause are values
 * (`{ ok: false, status, field, error }`); routes turn them into a page or `{error}`.
 *
 * Threats and choices:
 * - guessing through "current password" fields (change, delete) is throttled like login, per
 *   account and address, by the same counters;
 * - "is there an account for this address?" is never answered: a reset request gets the same
 *   answer, in the same time, whether or not one exists — the look-up, token and mail happen after
 *   the answer, off its path;
 * - links are single-use, hashed, expiring tokens bound to the address they were sent to
 *   (account-tokens.ts); a changed or re-verified address voids older links;
 * - a password change ends every other session, a reset every session (the old password may be
 *   known to someone else), and both void outstanding reset links;
 * - a deleted account's messages leave the event log with it: usernames are free again, and a
 *   stream resumes by name.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { LoginThrottle } from '../auth/login-throttle.ts';
import { ipKey } from '../auth/login-throttle.ts';
import { checkPasswordPolicy } from '../auth/password-policy.ts';
import type { RateLimiter } from '../auth/rate-limiter.ts';
import type { AuthenticatedUser, AuthService, ClientInfo } from '../auth/service.ts';
import { isValidUsername } from '../auth/users.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/schema.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { AccountTokenStore } from './account-tokens.ts';
import type { ActivityKind } from './activity.ts';
import { passwordChangedMail, resetMail, verificationMail } from './mails.ts';
import { createUserEmails } from './user-emails.ts';

export type Failure = {
  ok: false;
  status: 400 | 403 | 409 | 429;
  field?: string;
  error: string;
  retryAfter?: number;
};
export type Outcome<T = object> = ({ ok: true } & T) | Failure;

export interface AccountDeps {
  db: Kysely<Database>;
  config: Config;
  auth: AuthService;
  loginThrottle: LoginThrottle;
  rateLimiter: RateLimiter;
  tokens: AccountTokenStore;
  mailer: Mailer;
  /** Records (and pushes) an entry of the account's security activity. */
  record(userId: number, username: string, kind: ActivityKind, client: ClientInfo): void;
  /** Runs work after the answer has gone, tracked so that close waits for it. */
  later(work: () => Promise<void>): void;
  /** Deletes a user's messages from the event log (`EventLog.forget`). */
  forgetMessages(username: string): Promise<unknown>;
}

/** Why a name cannot be a new username. */
export const USERNAME_RULE = 'Username must be 1-64 letters, digits, ".", "_" or "-".';

/** Lower-case and trimmed: addresses are compared without regard to case. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();

const fail = (status: Failure['status'], error: string, field?: string, retryAfter?: number): Failure => ({
  ok: false,
  status,
  error,
  ...(field ? { field } : {}),
  ...(retryAfter ? { retryAfter } : {}),
});

const throttled = (seconds: number, field?: string) =>
  fail(
    429,
    `Too many attempts. Try again in ${seconds < 120 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`}.`,
    field,
    seconds,
  );

export type AccountService = ReturnType<typeof createAccountService>;

export function createAccountService(deps: AccountDeps) {
  const { config, auth, mailer, tokens } = deps;
  const emails = createUserEmails(deps.db);
  const policy = (password: string, username: string) =>
    checkPasswordPolicy(password, { username, minLength: config.passwordMinLength });
  const link = (path: string, token: string) =>
    `${config.publicUrl}${path}?token=${encodeURIComponent(token)}`;
  const emailKey = (email: string) => createHash('sha256').update(email).digest('hex').slice(0, 32);

  /** Counts one mail against the account's limit; the refusal when it is reached. */
  const takeMailAllowance = async (userId: number): Promise<Failure | null> => {
    const wait = await deps.rateLimiter.take([
      { key: `mail:user:${userId}`, limit: config.mailMaxPerAccount },
    ]);
    return wait === null ? null : throttled(wait, 'email');
  };

  /** Sends a verification link for `email` (its allowance already taken). */
  const sendVerification = async (user: { id: number; username: string }, email: string) => {
    const hours = config.emailVerificationHours;
    const token = await tokens.issue(user.id, 'verify-email', email, Math.round(hours * 3600));
    mailer.send(verificationMail(email, user.username, link('/verify-email', token), hours));
  };

  /** Counts an attempt at `user`'s current password, checks it, and takes success back off. */
  const checkCurrentPassword = async (user: AuthenticatedUser, password: string, client: ClientInfo) => {
    const attempt = { username: user.username, ip: client.ip };
    const wait = await deps.loginThrottle.begin(attempt);
    if (wait !== null) return throttled(wait, 'current_password');
    if (!(await auth.verifyCredentials(user.username, password, client)))
      return fail(403, 'The current password is not correct.', 'current_password');
    await deps.loginThrottle.succeeded(attempt);
    return null;
  };

  return {
    policy,
    normalizeEmail,

    /** Creates an account and opens its first session. */
    async register(
      input: { username: string; password: string; email?: string | undefined },
      client: ClientInfo,
    ): Promise<Outcome<{ username: string; token: string; exp: number }>> {
      const wait = await deps.rateLimiter.take([
        { key: `signup:${ipKey(client.ip)}`, limit: config.registrationMaxPerIp },
      ]);
      if (wait !== null) return throttled(wait);
      if (!isValidUsername(input.username)) return fail(400, USERNAME_RULE, 'username');
      const problem = policy(input.password, input.username);
      if (problem) return fail(400, problem.message, 'password');
      if (!(await auth.users.create(input.username, await auth.passwords.hash(input.password))))
        return fail(409, 'This username is taken.', 'username');
      const user = await auth.users.findByUsername(input.username);
      if (!user) throw new Error('a user just created is missing');
      if (input.email) {
        const email = normalizeEmail(input.email);
        await emails.set(user.id, email);
        // A new account's allowance is whole.
        if ((await takeMailAllowance(user.id)) === null) await sendVerification(user, email);
      }
      const issued = await auth.startSession(user, client, false);
      return { ok: true, username: user.username, token: issued.token, exp: issued.claims.exp };
    },

    /** Changes the caller's password; every other session of theirs ends. */
    async changePassword(
      user: AuthenticatedUser,
      current: string,
      next: string,
      client: ClientInfo,
    ): Promise<Outcome> {
      const problem = policy(next, user.username);
      if (problem) return fail(400, problem.message, 'new_password');
      const refused = await checkCurrentPassword(user, current, client);
      if (refused) return refused;
      await auth.users.setPassword(user.username, await auth.passwords.hash(next));
      await auth.endOtherSessions(user, user.tokenId, 'password-changed');
      await tokens.revokeAll(user.id, 'reset-password');
      deps.record(user.id, user.username, 'password-changed', client);
      if (user.email && user.emailVerified) mailer.send(passwordChangedMail(user.email, user.username));
      return { ok: true };
    },

    /**
     * Sets (or re-sends the link for) the caller's address; it is unverified until the link is
     * used. The address the account has already verified changes nothing and sends nothing
     * (`verified: true`), and the caller is told so rather than to wait for a mail. Past the
     * account's mail limit nothing changes either: the address stays as it was (a verified one
     * stays verified) rather than become one no link was sent to.
     */
    async setEmail(
      user: AuthenticatedUser,
      rawEmail: string,
    ): Promise<Outcome<{ email: string; verified: boolean }>> {
      const email = normalizeEmail(rawEmail);
      if (email === user.email && user.emailVerified) return { ok: true, email, verified: true };
      const refused = await takeMailAllowance(user.id);
      if (refused) return refused;
      if (email !== user.email) {
        await emails.set(user.id, email);
        auth.userChanged(user.username);
      }
      await sendVerification(user, email);
      return { ok: true, email, verified: false };
    },

    /** Uses a verification link; the account's address becomes verified (if it is still the one sent to). */
    async verifyEmail(token: string, client: ClientInfo): Promise<Outcome<{ username: string }>> {
      const grant = await tokens.consume(token, 'verify-email');
      if (!grant)
        return fail(400, 'This link is invalid, used or expired. Ask for a new one on your account page.');
      const result = await emails.markVerified(grant.userId, grant.email);
      if (result === 'taken') return fail(409, 'This address is already verified on another account.');
      if (result === 'changed') return fail(400, 'This link is for an address the account no longer uses.');
      auth.userChanged(result.username);
      deps.record(grant.userId, result.username, 'email-verified', client);
      return { ok: true, username: result.username };
    },

    /**
     * A reset request: throttled per address and per account (the typed address), then always
     * accepted. Whether an account has this verified address is looked up after the answer.
     */
    async requestReset(rawEmail: string, client: ClientInfo): Promise<Outcome> {
      const email = normalizeEmail(rawEmail);
      const wait = await deps.rateLimiter.take([
        { key: `reset:${ipKey(client.ip)}`, limit: config.passwordResetMaxPerIp },
        { key: `reset:email:${emailKey(email)}`, limit: config.mailMaxPerAccount },
      ]);
      if (wait !== null) return throttled(wait, 'email');
      deps.later(async () => {
        const user = await emails.findByVerifiedEmail(email);
        if (!user) return;
        const minutes = config.passwordResetMinutes;
        const token = await tokens.issue(user.id, 'reset-password', email, minutes * 60);
        mailer.send(resetMail(email, user.username, link('/reset-password', token), minutes));
        deps.record(user.id, user.username, 'reset-requested', client);
      });
      return { ok: true };
    },

    /** Whether a reset link is still good (the page it opens shows the form only then). */
    async resetLinkValid(token: string): Promise<boolean> {
      const grant = await tokens.peek(token, 'reset-password');
      return grant !== null && (await emails.findByVerifiedEmail(grant.email))?.id === grant.userId;
    },

    /** Uses a reset link: the new password is set and every session of the account ends. */
    async resetPassword(
      token: string,
      next: string,
      client: ClientInfo,
    ): Promise<Outcome<{ username: string }>> {
      const invalid = fail(400, 'This reset link is invalid, used or expired. Ask for a new one.', 'token');
      const grant = await tokens.peek(token, 'reset-password');
      const user = grant ? await emails.findByVerifiedEmail(grant.email) : null;
      if (!grant || !user || user.id !== grant.userId) return invalid;
      // Checked before the token is used, so a refused password leaves the link working.
      const problem = policy(next, user.username);
      if (problem) return fail(400, problem.message, 'new_password');
      if (!(await tokens.consume(token, 'reset-password'))) return invalid;
      await auth.users.setPassword(user.username, await auth.passwords.hash(next));
      await auth.logoutEverywhere(user.username, 'password-changed');
      await tokens.revokeAll(user.id, 'reset-password');
      // Proof of the mailbox clears a lockout of the account.
      await deps.loginThrottle.succeeded({ username: user.username, ip: client.ip });
      deps.record(user.id, user.username, 'password-reset', client);
      return { ok: true, username: user.username };
    },

    /** Ends one of the caller's sessions (the current one too: that is a logout); false if not theirs. */
    async revokeSession(user: AuthenticatedUser, id: string, client: ClientInfo): Promise<boolean> {
      if (!(await auth.endSession(user, id, id === user.tokenId ? 'logout' : 'revoked'))) return false;
      if (id !== user.tokenId) deps.record(user.id, user.username, 'session-revoked', client);
      return true;
    },

    /** Ends every session of the caller's but the current one; returns how many ended. */
    async revokeOtherSessions(user: AuthenticatedUser, client: ClientInfo): Promise<number> {
      const ended = await auth.endOtherSessions(user, user.tokenId, 'revoked');
      if (ended.length > 0) deps.record(user.id, user.username, 'session-revoked', client);
      return ended.length;
    },

    /**
     * Deletes the caller's account after checking their password; their sessions and streams
     * end. Their messages leave the event log too — before the user (a log that cannot be reached
     * fails the request with nothing deleted) and once more after, for any published meanwhile —
     * or a new account of the same name could replay them.
     */
    async deleteAccount(user: AuthenticatedUser, password: string, client: ClientInfo): Promise<Outcome> {
      const refused = await checkCurrentPassword(user, password, client);
      if (refused) return { ...refused, field: 'password' };
      await deps.forgetMessages(user.username);
      await auth.removeUser(user.username);
      deps.later(async () => {
        await deps.forgetMessages(user.username);
      });
      return { ok: true };
    },
  };
}
