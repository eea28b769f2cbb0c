import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { createMemoryBus } from './memory-bus.ts';
import type { SqlEventLog } from './sql-log.ts';
import type { EventBackend, StoredEvent, TransactionWork } from './types.ts';

/**
 * The single-instance pair: a database log and an in-process bus. Publishes run one at a time —
 * store, commit, then deliver — so this process hands events to its streams in id order even when
 * many publish at once (a stream skips any id not above the last it sent; out of order would be
 * lost). The log itself keeps commit order equal to id order across processes (see sql-log.ts).
 * A transaction's messages are delivered only once it has committed: a rolled-back change is
 * never seen by any stream.
 *
 * The newest known id is read once here, then raised as each transaction commits (every message
 * of this instance goes through one) and by every replay read, which also catches up with
 * messages another process wrote to the same database.
 */
export async function createLocalBackend(db: Kysely<Database>, log: SqlEventLog): Promise<EventBackend> {
  const bus = createMemoryBus();
  let newest = await log.latestId();
  const know = (id: number) => {
    if (id > newest) newest = id;
  };
  let tail: Promise<unknown> = Promise.resolve();
  const transact = <T>(work: TransactionWork<T>): Promise<T> => {
    const done = tail.then(async () => {
      const stored: StoredEvent[] = [];
      const result = await db.transaction().execute((trx) =>
        work(trx, async (recipient, data) => {
          const event = await log.appendWithin(trx, recipient, data);
          stored.push(event);
          return event;
        }),
      );
      for (const event of stored) {
        know(event.id);
        await bus.publish({ kind: 'event', event });
      }
      return result;
    });
    tail = done.catch(() => {});
    return done;
  };
  return {
    log: {
      ...log,
      // What a replay read saw committed is known from then on.
      async readAfter(recipients, afterId, limit) {
        const window = await log.readAfter(recipients, afterId, limit);
        know(window.latestId);
        return window;
      },
    },
    bus,
    // The bus is in-process; the log's faults surface on each query.
    available: true,
    newestKnownId: () => newest,
    transact,
    publish: (recipient, data) => transact((_trx, publish) => publish(recipient, data)),
    async close() {
      await tail;
      await bus.close();
      await log.close();
    },
  };
}
