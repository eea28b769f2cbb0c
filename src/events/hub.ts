import type { SessionRef } from '../auth/service.ts';
import { formatStoredEvent, type SseConnection } from './connection.ts';
import { BROADCAST, type StoredEvent } from './types.ts';

export type Hub = ReturnType<typeof createHub>;

/** This instance's open streams, by user. */
export function createHub() {
  const byUser = new Map<string, Set<SseConnection>>();
  return {
    add(connection: SseConnection) {
      const set = byUser.get(connection.username) ?? new Set();
      byUser.set(connection.username, set.add(connection));
    },
    remove(connection: SseConnection) {
      const set = byUser.get(connection.username);
      if (!set) return;
      set.delete(connection);
      if (set.size === 0) byUser.delete(connection.username);
    },
    countFor(username: string): number {
      return byUser.get(username)?.size ?? 0;
    },
    get size(): number {
      let total = 0;
      for (const set of byUser.values()) total += set.size;
      return total;
    },
    /** Hands a message to every stream it is for; returns how many streams that is. */
    deliver(event: StoredEvent): number {
      const hash = event.recipient.indexOf('#');
      if (hash > 0) {
        // A topic (`mark#account`): only the user's streams that asked for it.
        const set = byUser.get(event.recipient.slice(0, hash));
        if (!set) return 0;
        const frame = formatStoredEvent(event);
        let streams = 0;
        for (const connection of set)
          if (connection.topic === event.recipient) {
            connection.deliver(event, frame);
            streams++;
          }
        return streams;
      }
      const targets = event.recipient === BROADCAST ? [...byUser.values()] : [byUser.get(event.recipient)];
      if (targets[0] === undefined) return 0;
      // Framed once, written to every stream: fan-out costs one socket write per stream.
      const frame = formatStoredEvent(event);
      let streams = 0;
      for (const set of targets)
        for (const connection of set ?? []) {
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
