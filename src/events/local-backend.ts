import { createMemoryBus } from './memory-bus.ts';
import type { EventBackend, EventLog } from './types.ts';

/**
 * The single-instance pair: a database log and an in-process bus. Publishes run one at a time —
 * append, then deliver — so this process hands events to its streams in id order even when many
 * publish at once (a stream skips any id not above the last it sent; out of order would be lost).
 * The log itself keeps commit order equal to id order across processes (see sql-log.ts).
 */
export function createLocalBackend(log: EventLog): EventBackend {
  const bus = createMemoryBus();
  let tail: Promise<unknown> = Promise.resolve();
  return {
    log,
    bus,
    // The bus is in-process; the log's faults surface on each query.
    available: true,
    publish(recipient, data) {
      const published = tail.then(async () => {
        const event = await log.append(recipient, data);
        await bus.publish({ kind: 'event', event });
        return event;
      });
      tail = published.catch(() => {});
      return published;
    },
    async close() {
      await tail;
      await bus.close();
      await log.close();
    },
  };
}
