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
 */
export function createLocalBackend(db: Kysely<Database>, log: SqlEventLog): EventBackend {
  const bus = createMemoryBus();
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
      for (const event of stored) await bus.publish({ kind: 'event', event });
      return result;
    });
    tail = done.catch(() => {});
    return done;
  };
  return {
    log,
    bus,
    // The bus is in-process; the log's faults surface on each query.
    available: true,
    transact,
    publish: (recipient, data) => transact((_trx, publish) => publish(recipient, data)),
    async close() {
      await tail;
      await bus.close();
      await log.close();
    },
  };
}
