/**
 * Session records: one row per signed-in session, keyed by its token id. The access token stays a
 * stateless JWT the Python template can read; the row is what makes it a *session* the server can
 * list, renew and end. A row is written before any token of its session is handed out, its
 * `expires_at` only grows (and is written before a renewed token leaves), and an ended row stays
 * until every token of the session has expired — so a missing row for a valid token can only mean
 * a token minted elsewhere (the Python template, an earlier version), which is adopted once.
 */
import type { Kysely } from 'kysely';
import { chunks, IN_LIST_CHUNK } from '../db/in-list.ts';
import type { Database } from '../db/schema.ts';

export interface SessionRow {
  id: string;
  user_id: number;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  absolute_expires_at: number;
  persistent: boolean;
  user_agent: string;
  ip: string;
  ended_at: number | null;
}

/** The user columns a session check needs. */
export interface SessionUser {
  id: number;
  username: string;
  tokens_valid_after: number;
  email: string | null;
  email_verified_at: number | null;
}

export type NewSession = Omit<SessionRow, 'ended_at'>;

export type SessionRepository = ReturnType<typeof createSessionRepository>;

type RawSession = Omit<SessionRow, 'persistent'> & { persistent: number };

const toRow = (raw: RawSession): SessionRow => ({
  id: raw.id,
  user_id: Number(raw.user_id),
  created_at: Number(raw.created_at),
  last_seen_at: Number(raw.last_seen_at),
  expires_at: Number(raw.expires_at),
  absolute_expires_at: Number(raw.absolute_expires_at),
  persistent: Number(raw.persistent) === 1,
  user_agent: raw.user_agent,
  ip: raw.ip,
  ended_at: raw.ended_at === null ? null : Number(raw.ended_at),
});

const SESSION_COLUMNS = [
  'id',
  'user_id',
  'created_at',
  'last_seen_at',
  'expires_at',
  'absolute_expires_at',
  'persistent',
  'user_agent',
  'ip',
  'ended_at',
] as const;

export function createSessionRepository(db: Kysely<Database>) {
  return {
    /** Inserts a session; false (changing nothing) when its id exists already. */
    async create(session: NewSession): Promise<boolean> {
      const result = await db
        .insertInto('sessions')
        .values({ ...session, persistent: session.persistent ? 1 : 0 })
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    /** The user named `username` and the session `id`, in one round trip. */
    async findWithUser(
      id: string,
      username: string,
    ): Promise<{ user: SessionUser | null; session: SessionRow | null }> {
      const row = await db
        .selectFrom('users')
        .leftJoin('sessions', (join) => join.on('sessions.id', '=', id))
        .select([
          'users.id as uid',
          'users.username',
          'users.tokens_valid_after',
          'users.email',
          'users.email_verified_at',
          ...SESSION_COLUMNS.map((c) => `sessions.${c} as s_${c}` as const),
        ])
        .where('users.username', '=', username)
        .executeTakeFirst();
      if (!row) return { user: null, session: null };
      const user: SessionUser = {
        id: Number(row.uid),
        username: row.username,
        tokens_valid_after: Number(row.tokens_valid_after),
        email: row.email,
        email_verified_at: row.email_verified_at === null ? null : Number(row.email_verified_at),
      };
      if (row.s_id === null) return { user, session: null };
      const raw = Object.fromEntries(SESSION_COLUMNS.map((c) => [c, row[`s_${c}`]])) as unknown as RawSession;
      return { user, session: toRow(raw) };
    },

    /** The listed sessions that exist: one query per `IN_LIST_CHUNK` ids. */
    async findByIds(ids: readonly string[]): Promise<Map<string, SessionRow>> {
      const found = new Map<string, SessionRow>();
      for (const chunk of chunks(ids, IN_LIST_CHUNK)) {
        const rows = await db
          .selectFrom('sessions')
          .select(SESSION_COLUMNS)
          .where('id', 'in', chunk)
          .execute();
        for (const row of rows) found.set(row.id, toRow(row));
      }
      return found;
    },

    /** A user's sessions that have neither ended nor expired, most recently used first. */
    async listActive(userId: number, nowSeconds: number): Promise<SessionRow[]> {
      const rows = await db
        .selectFrom('sessions')
        .select(SESSION_COLUMNS)
        .where('user_id', '=', userId)
        .where('ended_at', 'is', null)
        .where('expires_at', '>', nowSeconds)
        .orderBy('last_seen_at', 'desc')
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map(toRow);
    },

    /** Ends the listed sessions of `userId` that are still running; returns the ids it ended. */
    async endMany(ids: readonly string[], userId: number, nowSeconds: number): Promise<string[]> {
      const ended: string[] = [];
      for (const chunk of chunks(ids, IN_LIST_CHUNK)) {
        const rows = await db
          .updateTable('sessions')
          .set({ ended_at: nowSeconds })
          .where('id', 'in', chunk)
          .where('user_id', '=', userId)
          .where('ended_at', 'is', null)
          .returning('id')
          .execute();
        ended.push(...rows.map((r) => r.id));
      }
      return ended;
    },

    /** Ends one of `userId`'s sessions; false when it is not theirs, or over already. */
    async end(id: string, userId: number, nowSeconds: number): Promise<boolean> {
      const result = await db
        .updateTable('sessions')
        .set({ ended_at: nowSeconds })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('ended_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Ends every running session of a user but `exceptId`; returns the ids it ended. */
    async endAll(userId: number, nowSeconds: number, exceptId?: string): Promise<string[]> {
      let query = db
        .updateTable('sessions')
        .set({ ended_at: nowSeconds })
        .where('user_id', '=', userId)
        .where('ended_at', 'is', null);
      if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
      const rows = await query.returning('id').execute();
      return rows.map((r) => r.id);
    },

    /** Moves a running session's expiry forward (never back). */
    async extend(id: string, expiresAt: number): Promise<boolean> {
      const result = await db
        .updateTable('sessions')
        .set({ expires_at: expiresAt })
        .where('id', '=', id)
        .where('ended_at', 'is', null)
        .where('expires_at', '<', expiresAt)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Records that the listed sessions were used at `nowSeconds`. */
    async touch(ids: readonly string[], nowSeconds: number): Promise<void> {
      for (const chunk of chunks(ids, IN_LIST_CHUNK))
        await db.updateTable('sessions').set({ last_seen_at: nowSeconds }).where('id', 'in', chunk).execute();
    },

    /** Deletes rows whose every token has expired (ended or not); returns how many. */
    async prune(nowSeconds: number): Promise<number> {
      const result = await db.deleteFrom('sessions').where('expires_at', '<', nowSeconds).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
