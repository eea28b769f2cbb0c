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
 *
 * Byte budget: one account must not be able to fill the database (or a resume's memory) with its
 * messages, so each recipient's messages hold at most `bytesPerRecipient` bytes. The horizon row
 * keeps their running total, updated by every append and every delete; an append that takes it
 * past the budget drops the recipient's oldest messages in its own transaction and raises the
 * horizon over them — so the bound holds at every commit, not only after the next prune.
 *
 * Atomic writes: `appendWithin` appends inside the caller's transaction, so a feature's own rows
 * and the message announcing them commit together or not at all.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Dialect } from '../db/connect.ts';
import type { Database } from '../db/schema.ts';
import type { EventLog, RetentionPolicy, StoredEvent } from './types.ts';

export interface SqlEventLog extends EventLog {
  /** Appends inside the caller's transaction: the message commits with what else it wrote. */
  appendWithin(trx: Transaction<Database>, recipient: string, data: string): Promise<StoredEvent>;
}

/** Arbitrary, fixed: the advisory lock key that serialises appends (and prunes) of `sse_events`. */
const APPEND_LOCK_KEY = 727_275;
/** Oldest messages read per query while looking for what to drop past the byte budget. */
const TRIM_BATCH = 100;

export function createSqlEventLog(
  db: Kysely<Database>,
  dialect: Dialect,
  retention: RetentionPolicy,
): SqlEventLog {
  /** PostgreSQL: one writer of the log at a time, until commit (see the ordering note above). */
  const lock = async (trx: Transaction<Database>) => {
    if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${APPEND_LOCK_KEY})`.execute(trx);
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

  /**
   * Deletes the recipient's messages up to `id`, raises its horizon over them and takes their
   * bytes off its total (counted from the rows actually deleted). Returns how many went.
   */
  const dropThrough = async (trx: Transaction<Database>, recipient: string, id: number): Promise<number> => {
    const deleted = await trx
      .deleteFrom('sse_events')
      .where('recipient', '=', recipient)
      .where('id', '<=', id)
      .returning(sql<number>`octet_length(data)`.as('bytes'))
      .execute();
    const freed = deleted.reduce((sum, row) => sum + Number(row.bytes), 0);
    const current = (column: 'pruned_through' | 'bytes') => sql.ref(`sse_event_horizons.${column}`);
    await trx
      .insertInto('sse_event_horizons')
      .values({ recipient, pruned_through: id, bytes: 0 })
      .onConflict((oc) =>
        oc.column('recipient').doUpdateSet({
          pruned_through: sql<number>`case when ${id} > ${current('pruned_through')} then ${id} else ${current('pruned_through')} end`,
          bytes: sql<number>`case when ${current('bytes')} > ${freed} then ${current('bytes')} - ${freed} else 0 end`,
        }),
      )
      .execute();
    return deleted.length;
  };

  /** Drops the recipient's oldest messages until its `total` bytes fit the budget again. */
  const trimToBudget = async (
    trx: Transaction<Database>,
    recipient: string,
    total: number,
  ): Promise<number> => {
    const excess = total - retention.bytesPerRecipient;
    let freed = 0;
    let cut = 0;
    while (freed < excess) {
      const oldest = await trx
        .selectFrom('sse_events')
        .select(['id', sql<number>`octet_length(data)`.as('bytes')])
        .where('recipient', '=', recipient)
        .where('id', '>', cut)
        .orderBy('id')
        .limit(TRIM_BATCH)
        .execute();
      for (const row of oldest) {
        if (freed >= excess) break;
        freed += Number(row.bytes);
        cut = Number(row.id);
      }
      if (oldest.length < TRIM_BATCH) break;
    }
    return cut === 0 ? 0 : dropThrough(trx, recipient, cut);
  };

  const appendWithin = async (
    trx: Transaction<Database>,
    recipient: string,
    data: string,
  ): Promise<StoredEvent> => {
    await lock(trx);
    const createdAt = Date.now();
    const row = await trx
      .insertInto('sse_events')
      .values({ recipient, data, created_at: createdAt })
      .returning('id')
      .executeTakeFirstOrThrow();
    const size = Buffer.byteLength(data);
    const { bytes } = await trx
      .insertInto('sse_event_horizons')
      .values({ recipient, pruned_through: 0, bytes: size })
      .onConflict((oc) =>
        oc
          .column('recipient')
          .doUpdateSet({ bytes: sql<number>`${sql.ref('sse_event_horizons.bytes')} + ${size}` }),
      )
      .returning('bytes')
      .executeTakeFirstOrThrow();
    if (Number(bytes) > retention.bytesPerRecipient) await trimToBudget(trx, recipient, Number(bytes));
    return { id: Number(row.id), recipient, data, createdAt };
  };

  return {
    appendWithin,

    append: (recipient, data) => db.transaction().execute((trx) => appendWithin(trx, recipient, data)),

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
      // Over the byte budget without a new append (the budget was lowered, or the log predates it).
      const overBudget = await db
        .selectFrom('sse_event_horizons')
        .select('recipient')
        .where('bytes', '>', retention.bytesPerRecipient)
        .execute();
      if (targets.size === 0 && overBudget.length === 0) return 0;
      return db.transaction().execute(async (trx) => {
        await lock(trx);
        let deleted = 0;
        for (const [recipient, id] of targets) deleted += await dropThrough(trx, recipient, id);
        for (const { recipient } of overBudget) {
          const row = await trx
            .selectFrom('sse_event_horizons')
            .select('bytes')
            .where('recipient', '=', recipient)
            .executeTakeFirst();
          if (Number(row?.bytes ?? 0) > retention.bytesPerRecipient)
            deleted += await trimToBudget(trx, recipient, Number(row?.bytes));
        }
        return deleted;
      });
    },

    async forget(username) {
      const topics = `${username}#`;
      return db.transaction().execute(async (trx) => {
        await lock(trx);
        const through = await latestId(trx);
        // Every recipient that ever had a message has a horizon row (migration 012 made the
        // missing ones). Compared as text, not with LIKE: SQLite's LIKE ignores case, and `_`
        // is a username character.
        const recipients = await trx
          .selectFrom('sse_event_horizons')
          .select('recipient')
          .where((eb) =>
            eb.or([
              eb('recipient', '=', username),
              eb(sql<string>`substr(recipient, 1, ${[...topics].length})`, '=', topics),
            ]),
          )
          .execute();
        let deleted = 0;
        for (const { recipient } of recipients) deleted += await dropThrough(trx, recipient, through);
        return deleted;
      });
    },

    close: async () => {},
  };
}
