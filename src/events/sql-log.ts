/**
 * The event log in the app's own database (SQLite or PostgreSQL): survives restarts.
 *
 * Ordering: a PostgreSQL sequence hands out ids before commit, so two concurrent appends can
 * commit out of id order (11 visible while 10 is still in flight). A reader that saw 11 would
 * then resume "after 11" and never see 10. Appends therefore take a transaction-level advisory
 * lock first: they commit one at a time, in id order, across every process sharing the database.
 * SQLite has a single writer, so its commit order is its id order already.
 *
 * Retention: pruning records, per recipient, the highest id it deletes (`sse_event_horizons`) in
 * the same transaction as the delete. A resume from below that mark missed a message and is told
 * to reload; the mark is exact, so nobody reloads for messages that were never theirs.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Dialect } from '../db/connect.ts';
import type { Database } from '../db/schema.ts';
import type { EventLog, RetentionPolicy, StoredEvent } from './types.ts';

/** Arbitrary, fixed: the advisory lock key that serialises appends to `sse_events`. */
const APPEND_LOCK_KEY = 727_275;

export function createSqlEventLog(
  db: Kysely<Database>,
  dialect: Dialect,
  retention: RetentionPolicy,
): EventLog {
  const insert = async (target: Kysely<Database>, recipient: string, data: string): Promise<StoredEvent> => {
    const createdAt = Date.now();
    const row = await target
      .insertInto('sse_events')
      .values({ recipient, data, created_at: createdAt })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: Number(row.id), recipient, data, createdAt };
  };

  const latestId = async (target: Kysely<Database> = db): Promise<number> => {
    // The horizon counts too: age-based pruning may have emptied the table.
    const [events, horizons] = await Promise.all([
      target
        .selectFrom('sse_events')
        .select((eb) => eb.fn.max('id').as('id'))
        .executeTakeFirst(),
      target
        .selectFrom('sse_event_horizons')
        .select((eb) => eb.fn.max('pruned_through').as('id'))
        .executeTakeFirst(),
    ]);
    return Math.max(Number(events?.id ?? 0), Number(horizons?.id ?? 0));
  };

  /** Per recipient, the highest id retention drops now (by age or beyond the newest N). */
  const pruneTargets = async (): Promise<Map<string, number>> => {
    const byAge = await db
      .selectFrom('sse_events')
      .select((eb) => ['recipient', eb.fn.max('id').as('id')])
      .where('created_at', '<', Date.now() - retention.maxAgeMs)
      .groupBy('recipient')
      .execute();
    const byCount = await db
      .selectFrom(
        db
          .selectFrom('sse_events')
          .select([
            'recipient',
            'id',
            sql<number>`row_number() over (partition by recipient order by id desc)`.as('rank'),
          ])
          .as('ranked'),
      )
      .select((eb) => ['ranked.recipient', eb.fn.max('ranked.id').as('id')])
      .where('ranked.rank', '>', retention.perRecipient)
      .groupBy('ranked.recipient')
      .execute();
    const targets = new Map<string, number>();
    for (const row of [...byAge, ...byCount]) {
      const id = Number(row.id);
      targets.set(row.recipient, Math.max(id, targets.get(row.recipient) ?? 0));
    }
    return targets;
  };

  const raiseHorizon = (trx: Transaction<Database>, recipient: string, id: number) =>
    trx
      .insertInto('sse_event_horizons')
      .values({ recipient, pruned_through: id })
      .onConflict((oc) =>
        oc.column('recipient').doUpdateSet({
          pruned_through: sql<number>`case when ${sql.ref('excluded.pruned_through')} > ${sql.ref('sse_event_horizons.pruned_through')} then ${sql.ref('excluded.pruned_through')} else ${sql.ref('sse_event_horizons.pruned_through')} end`,
        }),
      )
      .execute();

  return {
    async append(recipient, data) {
      if (dialect !== 'postgres') return insert(db, recipient, data);
      return db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${APPEND_LOCK_KEY})`.execute(trx);
        return insert(trx, recipient, data);
      });
    },

    async readAfter(recipients, afterId, limit) {
      // Order matters: events first, then the horizon. A prune that races this read commits its
      // horizon with its delete, so if the delete hid a row from us, the horizon shows it.
      const rows = await db
        .selectFrom('sse_events')
        .selectAll()
        .where('recipient', 'in', recipients)
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit + 1)
        .execute();
      const horizon = await db
        .selectFrom('sse_event_horizons')
        .select((eb) => eb.fn.max('pruned_through').as('id'))
        .where('recipient', 'in', recipients)
        .executeTakeFirst();
      return {
        events: rows.map((row) => ({
          id: Number(row.id),
          recipient: row.recipient,
          data: row.data,
          createdAt: Number(row.created_at),
        })),
        prunedThrough: Number(horizon?.id ?? 0),
        latestId: await latestId(),
        // The database is the system of record: its log is never recreated under a running app.
        epoch: 0,
      };
    },

    latestId: () => latestId(),

    async prune() {
      const targets = await pruneTargets();
      if (targets.size === 0) return 0;
      return db.transaction().execute(async (trx) => {
        let deleted = 0;
        for (const [recipient, id] of targets) {
          await raiseHorizon(trx, recipient, id);
          const result = await trx
            .deleteFrom('sse_events')
            .where('recipient', '=', recipient)
            .where('id', '<=', id)
            .executeTakeFirst();
          deleted += Number(result.numDeletedRows);
        }
        return deleted;
      });
    },

    close: async () => {},
  };
}
