import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { EventLog, StoredEvent } from './types.ts';

export interface RetentionPolicy {
  /** Messages kept per recipient. */
  perRecipient: number;
  /** Messages older than this are dropped. */
  maxAgeMs: number;
}

/** The event log in the app's own database (SQLite or PostgreSQL): survives restarts. */
export function createSqlEventLog(db: Kysely<Database>, retention: RetentionPolicy): EventLog {
  const toEvent = (row: {
    id: number;
    recipient: string;
    data: string;
    created_at: number;
  }): StoredEvent => ({
    id: Number(row.id),
    recipient: row.recipient,
    data: row.data,
    createdAt: Number(row.created_at),
  });
  return {
    async append(recipient, data) {
      const createdAt = Date.now();
      const row = await db
        .insertInto('sse_events')
        .values({ recipient, data, created_at: createdAt })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { id: Number(row.id), recipient, data, createdAt };
    },
    async readAfter(recipients, afterId, limit) {
      const rows = await db
        .selectFrom('sse_events')
        .selectAll()
        .where('recipient', 'in', recipients)
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(toEvent);
    },
    async oldestRetainedId(recipients) {
      const row = await db
        .selectFrom('sse_events')
        .select((eb) => eb.fn.min('id').as('id'))
        .where('recipient', 'in', recipients)
        .executeTakeFirst();
      return row?.id == null ? null : Number(row.id);
    },
    async latestId() {
      const row = await db
        .selectFrom('sse_events')
        .select((eb) => eb.fn.max('id').as('id'))
        .executeTakeFirst();
      return row?.id == null ? 0 : Number(row.id);
    },
    async prune() {
      const byAge = await db
        .deleteFrom('sse_events')
        .where('created_at', '<', Date.now() - retention.maxAgeMs)
        .executeTakeFirst();
      const byCount = await db
        .deleteFrom('sse_events')
        .where(
          'id',
          'in',
          db
            .selectFrom(
              db
                .selectFrom('sse_events')
                .select([
                  'id',
                  sql<number>`row_number() over (partition by recipient order by id desc)`.as('rank'),
                ])
                .as('ranked'),
            )
            .select('ranked.id')
            .where('ranked.rank', '>', retention.perRecipient),
        )
        .executeTakeFirst();
      return Number(byAge.numDeletedRows) + Number(byCount.numDeletedRows);
    },
  };
}
