import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import { createHub } from './hub.ts';
import { createMemoryBus } from './memory-bus.ts';
import streamRoutes from './routes.ts';
import { createSqlEventLog } from './sql-log.ts';
import type { EventBus, EventLog, StoredEvent } from './types.ts';

export interface Events {
  /** Stores a message for `to` (a username, or `*` for everyone) and delivers it to every open stream. */
  publish(to: string, message: object): Promise<StoredEvent>;
  readonly log: EventLog;
  readonly bus: EventBus;
  /** Open streams on this instance. */
  connectionCount(username?: string): number;
}

declare module 'fastify' {
  interface FastifyInstance {
    events: Events;
  }
}

/**
 * Real-time delivery: publish → durable log (ids, replay) → bus (every instance) → this
 * instance's open streams. Logout anywhere travels the same bus so streams end everywhere.
 */
export default fp(
  async (app, opts: { config: Config }) => {
    const { config } = opts;
    const log = createSqlEventLog(app.db, {
      perRecipient: config.sseReplayLimit,
      maxAgeMs: config.sseReplayMaxAgeHours * 3_600_000,
    });
    const bus = createMemoryBus();
    const hub = createHub();

    const unsubscribe = bus.subscribe((message) => {
      if (message.kind === 'event') hub.deliver(message.event);
      else hub.endSessions(message.username, message.tokenId, message.reason);
    });
    app.auth.onSessionEnded(({ username, tokenId, reason }) => {
      bus
        .publish({ kind: 'session-ended', username, reason, ...(tokenId ? { tokenId } : {}) })
        .catch((err) => {
          app.log.error({ err }, 'could not broadcast session end');
        });
    });

    const events: Events = {
      log,
      bus,
      async publish(to, message) {
        const event = await log.append(to, JSON.stringify(message));
        await bus.publish({ kind: 'event', event });
        return event;
      },
      connectionCount: (username) => (username === undefined ? hub.size : hub.countFor(username)),
    };
    app.decorate('events', events);

    app.addHook('preClose', async () => {
      hub.closeAll();
    });
    app.addHook('onClose', async () => {
      unsubscribe();
      await bus.close();
    });

    await app.register(streamRoutes, { config, hub, log });
  },
  { name: 'events', dependencies: ['db', 'auth'] },
);
