/**
 * The session model: a session *is* an access token (stateless JWT), checked on every request
 * against three server-side facts so that logout really ends it:
 * 1. the user still exists;
 * 2. the token was not individually revoked (logout records its id until `exp`);
 * 3. it was issued after the user's `tokens_valid_after` ("log out everywhere").
 * The rule itself lives in session-rules.ts. Listeners registered with `onSessionEnded` (the event
 * streams) hear about every ending made here; endings made elsewhere (the CLI without Redis,
 * another tool writing the database) are found by `findEndedSessions`, which the event streams
 * run periodically over their open sessions, so a stream never outlives its credential for long.
 */
import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { Database } from '../db/schema.ts';
import { createPasswordHasher, type PasswordHasher } from './passwords.ts';
import { createRevocationStore } from './revocation.ts';
import { isSessionCurrent } from './session-rules.ts';
import { createTokenService, type IssuedToken, issuedAt, tokenId } from './tokens.ts';
import { createUserRepository, type User, type UserRepository } from './users.ts';

export interface AuthenticatedUser {
  id: number;
  username: string;
  /** Id of the presenting token (its `jti`, or a hash for tokens without one). */
  tokenId: string;
  /** Unix seconds at which the presenting token was issued (see `issuedAt` in tokens.ts). */
  issuedAt: number;
  /** Unix seconds at which the presenting token expires. */
  expiresAt: number;
}

/** What re-checking a session needs to know about its token (an AuthenticatedUser has it all). */
export type SessionRef = Pick<AuthenticatedUser, 'username' | 'tokenId' | 'issuedAt'>;

export type SessionEndReason = 'logout' | 'logout-all' | 'expired' | 'removed';

export interface SessionEnded {
  username: string;
  /** Only this token's sessions ended; absent means every session of the user. */
  tokenId?: string;
  reason: SessionEndReason;
}

export interface AuthService {
  readonly passwords: PasswordHasher;
  readonly users: UserRepository;
  readonly tokenLifetimeSeconds: number;
  /** Checks credentials; null for an unknown user or a wrong password, in the same time. */
  login(username: string, password: string): Promise<{ user: User; issued: IssuedToken } | null>;
  /** The user a raw token stands for, or null when it is invalid, revoked or its user is gone. */
  authenticate(token: string): Promise<AuthenticatedUser | null>;
  /**
   * Re-checks sessions authenticated earlier (open streams) against the database as it is now,
   * by the same rule as `authenticate`, in a bounded number of queries whatever their count.
   * Returns the token ids of the sessions that have ended.
   */
  findEndedSessions(sessions: readonly SessionRef[]): Promise<Set<string>>;
  /** Ends one session: the token stops working everywhere at once. */
  logout(user: AuthenticatedUser): Promise<void>;
  /** Ends every session of a user, on every instance. */
  logoutEverywhere(username: string): Promise<boolean>;
  /** Deletes revocation rows of tokens that have expired anyway; returns how many. */
  pruneExpired(): Promise<number>;
  /** Registers a listener for ended sessions (used to close that session's streams). */
  onSessionEnded(listener: (event: SessionEnded) => void): void;
}

export function createAuthService(db: Kysely<Database>, config: Config): AuthService {
  const passwords = createPasswordHasher(config.bcryptRounds);
  const users = createUserRepository(db);
  const revocations = createRevocationStore(db);
  const tokens = createTokenService({
    secret: config.secretKey,
    lifetimeHours: config.accessTokenExpireHours,
  });
  const listeners: ((event: SessionEnded) => void)[] = [];
  const notifySessionEnded = (event: SessionEnded) => {
    for (const listener of listeners) listener(event);
  };

  return {
    passwords,
    users,
    tokenLifetimeSeconds: tokens.lifetimeSeconds,
    async login(username, password) {
      const user = await users.findByUsername(username);
      const ok = await passwords.verify(password, user?.hashed_password ?? null);
      if (!user || !ok) return null;
      // A token issued in the same second as "log out everywhere" must still be current.
      const now = Math.max(Math.floor(Date.now() / 1000), user.tokens_valid_after);
      return { user, issued: tokens.sign(user.username, now) };
    },
    async authenticate(token) {
      const claims = tokens.verify(token);
      if (!claims) return null;
      const id = tokenId(token, claims);
      const [user, revoked] = await Promise.all([
        users.findByUsername(claims.sub),
        revocations.isRevoked(id),
      ]);
      const facts = { user, revoked, issuedAt: issuedAt(claims, tokens.lifetimeSeconds) };
      if (!isSessionCurrent(facts)) return null;
      return {
        id: facts.user.id,
        username: facts.user.username,
        tokenId: id,
        issuedAt: facts.issuedAt,
        expiresAt: claims.exp,
      };
    },
    async findEndedSessions(sessions) {
      if (sessions.length === 0) return new Set();
      const [current, revoked] = await Promise.all([
        users.findSessionFactsByUsernames([...new Set(sessions.map((s) => s.username))]),
        revocations.findRevoked([...new Set(sessions.map((s) => s.tokenId))]),
      ]);
      const ended = new Set<string>();
      for (const { username, tokenId: id, issuedAt: issued } of sessions) {
        const facts = { user: current.get(username) ?? null, revoked: revoked.has(id), issuedAt: issued };
        if (!isSessionCurrent(facts)) ended.add(id);
      }
      return ended;
    },
    async logout(user) {
      await revocations.revoke(user.tokenId, user.expiresAt);
      notifySessionEnded({ username: user.username, tokenId: user.tokenId, reason: 'logout' });
    },
    async logoutEverywhere(username) {
      // +1: every token issued up to and including this second is now stale.
      const found = await users.invalidateTokens(username, Math.floor(Date.now() / 1000) + 1);
      if (found) notifySessionEnded({ username, reason: 'logout-all' });
      return found;
    },
    pruneExpired: () => revocations.prune(),
    onSessionEnded(listener) {
      listeners.push(listener);
    },
  };
}
