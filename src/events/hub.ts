import type { SessionRef } from '../auth/service.ts';
import { formatStoredEvent, type SseConnection } from './connection.ts';
import { BROADCAST, type StoredEvent } from './types.ts';

export type Hub = ReturnType<typeof createHub>;

/** This instance's open streams, by user. */
export function createHub() {
  const byUser = new Map<string, Set<SseConnection>>();
  let size = 0;
  return {
    add(connection: SseConnection) {
      // A stream can end while it opens (its token expired meanwhile): it never joins.
      if (connection.closed) return;
      const set = byUser.get(connection.username);
      if (set === undefined) byUser.set(connection.username, new Set([connection]));
      else if (!set.has(connection)) set.add(connection);
      else return;
      size++;
    },
    remove(connection: SseConnection) {
      const set = byUser.get(connection.username);
      if (!set?.delete(connection)) return;
      size--;
      if (set.size === 0) byUser.delete(connection.username);
    },
    countFor(username: string): number {
      return byUser.get(username)?.size ?? 0;
    },
    get size(): number {
      return size;
    },
    /**
     * Hands a message to every stream it is for; returns how many streams that is. Framed and
     * encoded once: fan-out costs one socket write per stream and allocates nothing per stream.
     */
    deliver(event: StoredEvent): number {
      if (event.recipient === BROADCAST) {
        // Counted first: a stream too slow to take it leaves during the loop.
        const streams = size;
        if (streams === 0) return 0;
        const frame = formatStoredEvent(event);
        for (const set of byUser.values()) for (const connection of set) connection.deliver(event, frame);
        return streams;
      }
      const hash = event.recipient.indexOf('#');
      // A topic (`mark#account`) goes only to the user's streams that asked for it.
      const set = byUser.get(hash > 0 ? event.recipient.slice(0, hash) : event.recipient);
      if (set === undefined) return 0;
      const frame = formatStoredEvent(event);
      if (hash <= 0) {
        const streams = set.size;
        for (const connection of set) connection.deliver(event, frame);
        return streams;
      }
      let streams = 0;
      for (const connection of set)
        if (connection.topic === event.recipient) {
          connection.deliver(event, frame);
          streams++;
        }
      return streams;
    },
    /**
     * Ends the matching streams with an `auth` event so their pages go to the login form: one
     * session's (`tokenId`), or all of the user's but `except`'s.
     */
    endSessions(username: string, tokenId: string | undefined, reason: string, except?: string) {
      for (const connection of [...(byUser.get(username) ?? [])]) {
        const matches =
          tokenId === undefined ? connection.tokenId !== except : connection.tokenId === tokenId;
        if (matches) connection.end('auth', { reason, redirect: '/login' });
      }
    },
    /** A session was renewed: its streams live on until the new expiry. */
    renewSession(username: string, tokenId: string, expiresAtMs: number) {
      for (const connection of byUser.get(username) ?? [])
        if (connection.tokenId === tokenId) connection.extend(expiresAtMs);
    },
    /** The sessions behind the open streams, one per token (several tabs may share one). */
    sessions(): SessionRef[] {
      const byToken = new Map<string, SessionRef>();
      for (const set of byUser.values())
        for (const { username, tokenId } of set) byToken.set(tokenId, { username, tokenId });
      return [...byToken.values()];
    },
    /** Ends every stream opened with one of `tokenIds`, with an `auth` event. */
    endTokens(tokenIds: ReadonlySet<string>, reason: string) {
      for (const set of [...byUser.values()])
        for (const connection of [...set])
          if (tokenIds.has(connection.tokenId)) connection.end('auth', { reason, redirect: '/login' });
    },
    /** Ends every stream; resolves when their last bytes are flushed. */
    async closeAll(reason: 'server' | 'bus-reset' = 'server'): Promise<void> {
      const all = [...byUser.values()].flatMap((set) => [...set]);
      await Promise.all(all.map((connection) => connection.close(reason)));
    },
  };
}
