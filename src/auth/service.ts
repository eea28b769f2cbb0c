/**
 * Sessions: a signed-in session is a row in `sessions` (src/auth/sessions.ts) plus the access
 * tokens issued for it — stateless HS256 JWTs the Python template can read, whose `jti` is the
 * row's id. Each request's token is verified (signature, `exp`; remembered by tokens.ts) and
 * its session checked by the rules in session-rules.ts, against an in-process cache
 * (session-cache.ts): in the steady state authenticating a request costs no database round trip.
 *
 * Every change this service makes — a session started, ended, renewed; a user changed — is applied
 * to this instance's cache before the call returns (so a revocation is effective here at once) and
 * announced to `onChange` listeners: the events plugin carries it over the event bus to every
 * other instance (`applyRemoteChange` there) and to open streams; the accounts feature pushes it
 * to the account page. Changes made where no bus reaches (the CLI without Redis, another tool
 * writing the database) are found by `findEndedSessions`, which the events plugin runs every
 * SSE_SESSION_CHECK_SECONDS over open streams and every cached session.
 *
 * "Last seen" is kept in memory and written in batches, at most once a minute per session, off
 * the request's path (`flushLastSeen`).
 */
import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { Database } from '../db/schema.ts';
import { createPasswordHasher, type PasswordHasher } from './passwords.ts';
import { createRevocationStore } from './revocation.ts';
import { type CachedSession, createSessionCache } from './session-cache.ts';
import { isSessionCurrent, mayAdopt, renewedExpiry } from './session-rules.ts';
import { createSessionRepository, type SessionRepository, type SessionRow } from './sessions.ts';
import { type AccessClaims, createTokenService, type IssuedToken, issuedAt } from './tokens.ts';
import { createUserRepository, type User, type UserRepository } from './users.ts';

export interface AuthenticatedUser {
  id: number;
  username: string;
  email: string | null;
  emailVerified: boolean;
  /** The session's id: the presented token's `jti` (or the canonical id of a token without one). */
  tokenId: string;
  /** Unix seconds at which the presenting token was issued (see `issuedAt` in tokens.ts). */
  issuedAt: number;
  /** Unix seconds at which the presenting token expires. */
  expiresAt: number;
  session: { createdAt: number; absoluteExpiresAt: number; persistent: boolean };
}

/** What re-checking a session needs to know (an AuthenticatedUser has it all). */
export type SessionRef = Pick<AuthenticatedUser, 'username' | 'tokenId'>;

/** Where a sign-in came from, shown on the account page. */
export interface ClientInfo {
  ip: string;
  userAgent: string;
}

export type SessionEndReason =
  | 'logout'
  | 'logout-all'
  | 'expired'
  | 'removed'
  | 'revoked'
  | 'password-changed';

/** A change to sessions or users, as this instance made it. */
export type SessionChange =
  | { kind: 'session-started'; username: string; session: SessionRow }
  | {
      kind: 'session-ended';
      username: string;
      /** Only this session ended; absent means every session of the user (but `except`). */
      tokenId?: string;
      except?: string;
      /** With `except`: the ids of the sessions that ended (this instance only; not on the bus). */
      ended?: readonly string[];
      reason: SessionEndReason;
    }
  | { kind: 'session-renewed'; username: string; tokenId: string; expiresAt: number }
  | { kind: 'user-changed'; username: string }
  /** A wrong password for an existing account (the account page lists them). */
  | { kind: 'sign-in-failed'; username: string; userId: number; client: ClientInfo };

/** The changes other instances must hear of, as the bus carries them. */
export type RemoteSessionChange =
  | { kind: 'session-ended'; username: string; tokenId?: string; except?: string; reason: string }
  | { kind: 'session-renewed'; username: string; tokenId: string; expiresAt: number }
  | { kind: 'user-changed'; username: string };

export type AuthService = ReturnType<typeof createAuthService>;

const CACHE_ENTRIES = 20_000;
const LAST_SEEN_RESOLUTION_SECONDS = 60;
const nowSeconds = () => Math.floor(Date.now() / 1000);

export function createAuthService(db: Kysely<Database>, config: Config) {
  const passwords: PasswordHasher = createPasswordHasher(config.bcryptRounds);
  const users: UserRepository = createUserRepository(db);
  const sessions: SessionRepository = createSessionRepository(db);
  const revocations = createRevocationStore(db);
  const tokens = createTokenService({
    secret: config.secretKey,
    lifetimeHours: config.accessTokenExpireHours,
  });
  const lifetime = tokens.lifetimeSeconds;
  const maxAgeSeconds = Math.max(1, Math.round(config.sessionMaxAgeDays * 86_400));
  const cache = createSessionCache(CACHE_ENTRIES);
  const seen = new Map<string, number>();
  const listeners: ((change: SessionChange) => void | Promise<void>)[] = [];

  /** Applies a change to this instance's cache, then tells the listeners; resolves when they are done. */
  const changed = (change: SessionChange): Promise<unknown> => {
    applyToCache(change);
    return Promise.all(listeners.map((listener) => listener(change)));
  };
  const applyToCache = (change: SessionChange | RemoteSessionChange) => {
    if (change.kind === 'session-started' || change.kind === 'sign-in-failed') return;
    if (change.kind === 'session-renewed') {
      const session = cache.get(change.tokenId)?.session;
      if (session) session.expires_at = Math.max(session.expires_at, change.expiresAt);
    } else if (change.kind === 'session-ended' && change.tokenId !== undefined)
      cache.forgetSession(change.tokenId);
    else cache.forgetUser(change.username, change.kind === 'session-ended' ? change.except : undefined);
  };

  /** Opens a session for a user who just proved who they are; the row exists before the token does. */
  const startSession = async (
    user: Pick<User, 'id' | 'username' | 'tokens_valid_after'>,
    client: ClientInfo,
    persistent: boolean,
  ): Promise<IssuedToken> => {
    // A token issued in the same second as "log out everywhere" must still be current.
    const now = Math.max(nowSeconds(), user.tokens_valid_after);
    const absolute = now + maxAgeSeconds;
    const issued = tokens.sign(user.username, now, { exp: Math.min(now + lifetime, absolute) });
    const session: SessionRow = {
      id: issued.claims.jti,
      user_id: user.id,
      created_at: now,
      last_seen_at: now,
      expires_at: issued.claims.exp,
      absolute_expires_at: absolute,
      persistent,
      user_agent: client.userAgent.slice(0, 512),
      ip: client.ip.slice(0, 64),
      ended_at: null,
    };
    await sessions.create(session);
    // Awaited: the account page's live list and activity have the session before its owner
    // gets the token, so its own pages never receive their own "new session" push.
    await changed({ kind: 'session-started', username: user.username, session });
    await endLeastRecentlyUsed(user, session.id, now);
    return issued;
  };

  /**
   * One account holds at most SESSIONS_MAX_PER_USER running sessions: a script signing in over
   * and over would otherwise pile up rows, and the lists the account page renders in one go (20,000
   * sessions made a 20 MB page that held the event loop for a minute). Past the cap, the least
   * recently used sessions end as if revoked: their tokens stop working and their streams end.
   * The session just started (`newest`) is never among them.
   */
  const endLeastRecentlyUsed = async (user: Pick<User, 'id' | 'username'>, newest: string, now: number) => {
    const running = await sessions.listActive(user.id, now);
    if (running.length <= config.sessionsMaxPerUser) return;
    // "Last seen" in memory is newer than the database's until it is flushed.
    const lastSeen = (row: SessionRow) =>
      row.id === newest ? Number.POSITIVE_INFINITY : Math.max(row.last_seen_at, seen.get(row.id) ?? 0);
    const oldest = running
      .sort((a, b) => lastSeen(b) - lastSeen(a) || b.created_at - a.created_at)
      .slice(config.sessionsMaxPerUser)
      .map((row) => row.id);
    for (const id of await sessions.endMany(oldest, user.id, now))
      await changed({ kind: 'session-ended', username: user.username, tokenId: id, reason: 'revoked' });
  };

  /** What the database says about a verified token's session; adopts a token minted elsewhere. */
  const loadSession = async (id: string, claims: AccessClaims, client?: ClientInfo) => {
    const facts = await sessions.findWithUser(id, claims.sub);
    if (facts.session || !facts.user) return isSessionCurrent(facts) ? facts : { user: null, session: null };
    const issued = issuedAt(claims, lifetime);
    const revoked = await revocations.isRevoked(id);
    if (!mayAdopt({ user: facts.user, revoked, issuedAt: issued })) return { user: null, session: null };
    const session: SessionRow = {
      id,
      user_id: facts.user.id,
      created_at: issued,
      last_seen_at: nowSeconds(),
      expires_at: claims.exp,
      absolute_expires_at: issued + maxAgeSeconds,
      persistent: false,
      user_agent: (client?.userAgent ?? '').slice(0, 512),
      ip: (client?.ip ?? '').slice(0, 64),
      ended_at: null,
    };
    // Another instance may adopt it at the same moment; either row is the same session.
    await sessions.create(session);
    return { user: facts.user, session };
  };

  /** The session's user for a verified token, its "last seen" noted; null if the session ended. */
  const signedIn = (entry: CachedSession, id: string, claims: AccessClaims): AuthenticatedUser | null => {
    if (entry.user?.username !== claims.sub) return null;
    const session = entry.session;
    if (session) {
      const now = nowSeconds();
      if (now - session.last_seen_at >= LAST_SEEN_RESOLUTION_SECONDS) {
        session.last_seen_at = now;
        seen.set(id, now);
      }
    }
    return toUser(entry, id, claims);
  };

  const toUser = (entry: CachedSession, id: string, claims: AccessClaims): AuthenticatedUser | null => {
    const { user, session } = entry;
    if (!user || !session) return null;
    return {
      id: user.id,
      username: user.username,
      email: user.email,
      emailVerified: user.email !== null && user.email_verified_at !== null,
      tokenId: id,
      issuedAt: issuedAt(claims, lifetime),
      expiresAt: claims.exp,
      session: {
        createdAt: session.created_at,
        absoluteExpiresAt: session.absolute_expires_at,
        persistent: session.persistent,
      },
    };
  };

  return {
    passwords,
    users,
    sessions,
    tokenLifetimeSeconds: lifetime,

    /**
     * Checks credentials; null for an unknown user or a wrong password, in the same time (the
     * failed-attempt listeners run after, off the answer's path).
     */
    async verifyCredentials(username: string, password: string, client: ClientInfo): Promise<User | null> {
      const user = await users.findByUsername(username);
      const ok = await passwords.verify(password, user?.hashed_password ?? null);
      if (user && !ok) {
        const failed = { kind: 'sign-in-failed', username: user.username, userId: user.id, client } as const;
        setImmediate(() => void changed(failed));
      }
      return user && ok ? user : null;
    },

    startSession,

    /**
     * The user a raw token stands for, answered from memory: null when the token is invalid or
     * its session is known to have ended, undefined when the session must be read from the
     * database first (then `authenticate`). Most requests are answered here, without a promise.
     */
    authenticateFromCache(token: string): AuthenticatedUser | null | undefined {
      const verified = tokens.verifyWithId(token);
      if (!verified) return null;
      const entry = cache.get(verified.id);
      return entry === undefined ? undefined : signedIn(entry, verified.id, verified.claims);
    },

    /** The user a raw token stands for, or null when it is invalid, expired or its session ended. */
    async authenticate(token: string, client?: ClientInfo): Promise<AuthenticatedUser | null> {
      const verified = tokens.verifyWithId(token);
      if (!verified) return null;
      const { id, claims } = verified;
      const entry =
        cache.get(id) ?? (await cache.load(id, claims.sub, () => loadSession(id, claims, client)));
      return signedIn(entry, id, claims);
    },

    /** Whether `renew` would issue a token now (a browser session past half its token's life). */
    renewalDue(user: AuthenticatedUser): boolean {
      const renewed = cache.get(user.tokenId)?.renewed;
      if (renewed && renewed.claims.exp > user.expiresAt) return true;
      return (
        renewedExpiry({
          now: nowSeconds(),
          exp: user.expiresAt,
          lifetime,
          absoluteExpiresAt: user.session.absoluteExpiresAt,
        }) !== null
      );
    },

    /**
     * A fresh token for a session whose token is past half its life, or any time `asked` (same
     * session, same `jti`, expiring a full lifetime from now, never past the session's cap); null
     * when not due or nothing would be gained.
     * The row's expiry is written before the token exists. Concurrent requests of one page get
     * the same new token.
     */
    async renew(user: AuthenticatedUser, options: { asked?: boolean } = {}): Promise<IssuedToken | null> {
      const now = nowSeconds();
      const entry = cache.get(user.tokenId);
      if (entry?.renewed && entry.renewed.claims.exp > user.expiresAt) return entry.renewed;
      const exp = renewedExpiry({
        now,
        exp: user.expiresAt,
        lifetime,
        absoluteExpiresAt: user.session.absoluteExpiresAt,
        asked: options.asked,
      });
      if (exp === null) return null;
      await sessions.extend(user.tokenId, exp);
      const issued = tokens.sign(user.username, now, { jti: user.tokenId, exp });
      if (entry) entry.renewed = issued;
      changed({ kind: 'session-renewed', username: user.username, tokenId: user.tokenId, expiresAt: exp });
      return issued;
    },

    /**
     * Re-checks sessions (open streams' and every cached one) against the database as it is now,
     * by the rule `authenticate` applies, in a bounded number of queries; forgets the ended ones
     * and returns their ids.
     */
    async findEndedSessions(refs: readonly SessionRef[]): Promise<Set<string>> {
      const all = new Map<string, string>();
      for (const { tokenId: id, username } of [...refs, ...cache.standing()]) all.set(id, username);
      if (all.size === 0) return new Set();
      const [rows, current] = await Promise.all([
        sessions.findByIds([...all.keys()]),
        users.findSessionFactsByUsernames([...new Set(all.values())]),
      ]);
      const ended = new Set<string>();
      for (const [id, username] of all) {
        const facts = { user: current.get(username) ?? null, session: rows.get(id) ?? null };
        if (!isSessionCurrent(facts)) ended.add(id);
      }
      for (const id of ended) cache.forgetSession(id);
      return ended;
    },

    /** Ends the presenting session (logout). */
    async logout(user: SessionRef & { id: number }): Promise<void> {
      await sessions.end(user.tokenId, user.id, nowSeconds());
      changed({ kind: 'session-ended', username: user.username, tokenId: user.tokenId, reason: 'logout' });
    },

    /** Ends one of a user's sessions; false when it is not theirs or ended already. */
    async endSession(
      user: { id: number; username: string },
      id: string,
      reason: SessionEndReason,
    ): Promise<boolean> {
      if (!(await sessions.end(id, user.id, nowSeconds()))) return false;
      changed({ kind: 'session-ended', username: user.username, tokenId: id, reason });
      return true;
    },

    /**
     * Ends every session of a user but `except` (the caller's, after a password change), including
     * tokens never seen here (the Python template's): those issued before now stop being adopted.
     */
    async endOtherSessions(user: { id: number; username: string }, except: string, reason: SessionEndReason) {
      const now = nowSeconds();
      await users.invalidateTokens(user.username, now + 1);
      const ended = await sessions.endAll(user.id, now, except);
      changed({ kind: 'session-ended', username: user.username, except, ended, reason });
      return ended;
    },

    /** Ends every session of a user ("log out everywhere"), on every instance. */
    async logoutEverywhere(username: string, reason: SessionEndReason = 'logout-all'): Promise<boolean> {
      const now = nowSeconds();
      // +1: every token issued up to and including this second is now stale.
      const user = await users.findByUsername(username);
      if (!user || !(await users.invalidateTokens(username, now + 1))) return false;
      await sessions.endAll(user.id, now);
      changed({ kind: 'session-ended', username, reason });
      return true;
    },

    /** Deletes a user (courses, sessions and tokens go with them); their streams end everywhere. */
    async removeUser(username: string): Promise<boolean> {
      if (!(await users.remove(username))) return false;
      changed({ kind: 'session-ended', username, reason: 'removed' });
      return true;
    },

    /** Something about a user that sessions carry changed (their email): drop what is cached. */
    userChanged(username: string): void {
      changed({ kind: 'user-changed', username });
    },

    /** A change another instance made (from the event bus). */
    applyRemoteChange: applyToCache,

    /** The bus may have dropped messages: forget every cached check. */
    forgetCachedSessions(): void {
      cache.clear();
    },

    /** Writes the "last seen" times gathered since the last flush (one batched update). */
    async flushLastSeen(): Promise<void> {
      if (seen.size === 0) return;
      const batch = [...seen.keys()];
      const at = Math.max(...seen.values());
      seen.clear();
      await sessions.touch(batch, at);
    },

    /** Deletes session and legacy revocation rows whose tokens have all expired. */
    async pruneExpired(): Promise<number> {
      const now = nowSeconds();
      const [a, b] = await Promise.all([sessions.prune(now), revocations.prune(now)]);
      return a + b;
    },

    /**
     * Registers a listener for every change this instance makes. A listener may return a promise;
     * starting a session waits for it (it must not reject).
     */
    onChange(listener: (change: SessionChange) => void | Promise<void>): void {
      listeners.push(listener);
    },
  };
}
