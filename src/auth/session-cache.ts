/**
 * This instance's memory of session checks, so that authenticating a request costs no database
 * round trip in the steady state. An entry holds what the database said about one token id —
 * the user and the session row, or that the session stands no more — and stays until something
 * says it may be wrong:
 * - this instance ended, renewed or changed something (the service forgets the entries at once,
 *   before it answers);
 * - another instance did (its event-bus message arrives within the bus delay);
 * - the bus link dropped (`clear()`: messages may have been missed);
 * - the periodic session check found a session ended out of band (the CLI without Redis).
 * A load that started before an invalidation is not stored (an epoch counts invalidations), so a
 * slow read can never put back what was just forgotten. Bounded: the oldest entries go first.
 */
import type { SessionRow, SessionUser } from './sessions.ts';
import type { IssuedToken } from './tokens.ts';

export interface CachedSession {
  /** Null: the session does not stand (ended, its user gone, or never valid). */
  user: SessionUser | null;
  session: SessionRow | null;
  /** The newest token renewal issued for this session by this instance, reused by concurrent requests. */
  renewed?: IssuedToken;
}

export type SessionCache = ReturnType<typeof createSessionCache>;

export function createSessionCache(maxEntries: number) {
  const entries = new Map<string, CachedSession & { username: string }>();
  const byUser = new Map<string, Set<string>>();
  const loading = new Map<string, Promise<CachedSession>>();
  let epoch = 0;

  const forget = (id: string) => {
    const entry = entries.get(id);
    if (!entry) return;
    entries.delete(id);
    const ids = byUser.get(entry.username);
    ids?.delete(id);
    if (ids?.size === 0) byUser.delete(entry.username);
  };
  const invalidated = () => {
    epoch++;
    loading.clear();
  };

  return {
    get(id: string): CachedSession | undefined {
      return entries.get(id);
    },

    /**
     * The entry for `id`, loading it with `load` on a miss; concurrent misses share one load.
     * The result is stored only if nothing was invalidated while it loaded.
     */
    load(id: string, username: string, load: () => Promise<CachedSession>): Promise<CachedSession> {
      const pending = loading.get(id);
      if (pending) return pending;
      const started = epoch;
      const promise = load().then(
        (value) => {
          if (loading.get(id) === promise) loading.delete(id);
          if (epoch === started) {
            forget(id);
            entries.set(id, { ...value, username });
            byUser.set(username, (byUser.get(username) ?? new Set()).add(id));
            if (entries.size > maxEntries) forget(entries.keys().next().value as string);
          }
          return value;
        },
        (error: unknown) => {
          if (loading.get(id) === promise) loading.delete(id);
          throw error;
        },
      );
      loading.set(id, promise);
      return promise;
    },

    /** Forgets one session. */
    forgetSession(id: string): void {
      invalidated();
      forget(id);
    },

    /** Forgets every session of a user (but `exceptId`, whose facts did not change). */
    forgetUser(username: string, exceptId?: string): void {
      invalidated();
      for (const id of [...(byUser.get(username) ?? [])]) if (id !== exceptId) forget(id);
    },

    clear(): void {
      invalidated();
      entries.clear();
      byUser.clear();
    },

    /** The standing sessions held, for the periodic re-check. */
    standing(): { username: string; tokenId: string }[] {
      const refs: { username: string; tokenId: string }[] = [];
      for (const [tokenId, entry] of entries)
        if (entry.user) refs.push({ username: entry.username, tokenId });
      return refs;
    },

    get size(): number {
      return entries.size;
    },
  };
}
