import fp from 'fastify-plugin';
import type { Transaction } from 'kysely';
import type { Config } from '../config.ts';
import type { Database } from '../db/schema.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { ServiceUnavailableError } from '../service-unavailable.ts';
import { createHub } from './hub.ts';
import { createLocalBackend } from './local-backend.ts';
import {
  InvalidMessageError,
  isRecipient,
  MessageTooLargeError,
  messageProblem,
  type SseMessage,
} from './messages.ts';
import publishRoutes from './publish-routes.ts';
import { createRedisBackend, defaultRedisPrefix } from './redis-backend.ts';
import streamRoutes from './routes.ts';
import { createSqlEventLog } from './sql-log.ts';
import type { EventBackend, EventBus, EventLog, StoredEvent, TransactionWork } from './types.ts';
import { registerLastEventIdLocal } from './view-locals.ts';

/** How long shutdown waits for ended streams to flush their last bytes. */
const STREAM_FLUSH_MS = 1000;

/** Inside `Events.transaction`: stores a message for `to` with the transaction's other writes. */
export type PublishInTransaction = (to: string, message: SseMessage) => Promise<StoredEvent>;

export interface Events {
  /**
   * Stores a message for `to` (a username, or `*` for everyone) and delivers it to every open
   * stream, on every instance. Throws InvalidMessageError / MessageTooLargeError for bad input,
   * and ServiceUnavailableError (503 + Retry-After) when the log cannot be reached: a message is
   * stored or refused, never dropped.
   */
  publish(to: string, message: SseMessage): Promise<StoredEvent>;
  /**
   * A feature's writes and the messages announcing them, together or not at all: `work` runs in
   * one database transaction, and `publish` inside it checks the message first (a refusal throws
   * and rolls every write back), then stores it.
   * - log in the database: the message commits with the writes; streams hear of it afterwards.
   * - log in Redis: the message is stored and delivered (one atomic script) before the database
   *   commits, so a Redis failure rolls the writes back (nothing half-done). Should the commit
   *   itself then fail, streams have seen a change the database does not hold: a reload shows the
   *   truth. The other order could lose a change for every open page instead.
   */
  transaction<T>(work: (trx: Transaction<Database>, publish: PublishInTransaction) => Promise<T>): Promise<T>;
  /**
   * The newest event id: a page rendered now lets its stream resume from it (no render race).
   * With Redis away, the newest id this instance has seen — a resume from it replays more, never less.
   */
  latestId(): Promise<number>;
  /**
   * The newest id this instance knows of, from memory (see EventBackend.newestKnownId): what a
   * page is rendered with, so rendering one never waits on the log.
   */
  newestKnownId(): number;
  /** Enforces retention now (it also runs every SSE_PRUNE_INTERVAL_SECONDS); returns messages dropped. */
  prune(): Promise<number>;
  /**
   * Re-checks the credentials behind this instance's open streams now (it also runs every
   * SSE_SESSION_CHECK_SECONDS) and ends the streams of sessions that have ended; returns how many
   * sessions ended. Never rejects: a failed check is logged and the next one tries again.
   */
  checkSessions(): Promise<number>;
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
 * instance's open streams. With REDIS_URL both live in Redis (many instances); without, the log
 * is the app's database and the bus is in-process. Logout anywhere travels the same bus so
 * streams end everywhere; endings the bus never carries (the CLI without Redis, another tool
 * writing the database) are caught by re-checking every open stream's credential periodically.
 */
export default fp(
  async (app, opts: { config: Config }) => {
    const { config } = opts;
    const retention = {
      perRecipient: config.sseReplayLimit,
      bytesPerRecipient: config.sseLogMaxBytes,
      maxAgeMs: config.sseReplayMaxAgeHours * 3_600_000,
    };
    const backend: EventBackend = config.redisUrl
      ? await createRedisBackend({
          url: config.redisUrl,
          prefix: config.redisKeyPrefix ?? defaultRedisPrefix(config.secretKey, config.databaseUrl),
          retention,
          onError: (err) => app.log.error({ err }, 'event bus error'),
          // A silently dead link is found within about two heartbeats.
          linkCheckMs: config.sseHeartbeatSeconds * 1000,
        })
      : await createLocalBackend(app.db, createSqlEventLog(app.db, app.dbDialect, retention));
    const { log, bus } = backend;
    const hub = createHub();
    const counters = createStreamCounters(app.metrics);
    app.metrics.gauge('sse_open_streams', 'Event streams open on this instance', () => hub.size);
    // A message larger than half the send-buffer cap would get every stream dropped, forever; one
    // past the log's budget or a replay's would never be replayed (every resume would reload).
    const maxMessageBytes = Math.min(
      Math.floor(config.sseMaxBufferedBytes / 2),
      config.sseLogMaxBytes,
      config.sseReplayMaxBytes,
    );
    /** The JSON of a message fit to store, or a thrown InvalidMessageError / MessageTooLargeError. */
    const encode = (to: string, message: SseMessage): string => {
      if (!isRecipient(to)) throw new InvalidMessageError('"to" must be a username or "*"');
      const problem = messageProblem(message);
      if (problem !== null) throw new InvalidMessageError(problem);
      const data = JSON.stringify(message);
      const bytes = Buffer.byteLength(data);
      if (bytes > maxMessageBytes) throw new MessageTooLargeError(bytes, maxMessageBytes);
      return data;
    };
    const transact =
      backend.transact?.bind(backend) ??
      (<T>(work: TransactionWork<T>) =>
        app.db
          .transaction()
          .execute((trx) => work(trx, (recipient, data) => backend.publish(recipient, data))));

    // Session changes reach every instance (this one included) over the bus: each forgets what
    // it cached about them and ends or extends the streams concerned.
    const unsubscribe = bus.subscribe((message) => {
      if (message.kind === 'event') {
        counters.delivered.inc({}, hub.deliver(message.event));
        return;
      }
      if (message.kind === 'reset') {
        app.log.warn({ streams: hub.size }, 'event bus link was interrupted; streams will resume');
        app.auth.forgetCachedSessions();
        void hub.closeAll('bus-reset');
        return;
      }
      app.auth.applyRemoteChange(message);
      if (message.kind === 'session-ended')
        hub.endSessions(message.username, message.tokenId, message.reason, message.except);
      else if (message.kind === 'session-renewed')
        hub.renewSession(message.username, message.tokenId, message.expiresAt * 1000);
    });
    app.auth.onChange((change) => {
      if (change.kind === 'session-started' || change.kind === 'sign-in-failed') return;
      const message =
        change.kind === 'session-ended'
          ? {
              kind: change.kind,
              username: change.username,
              reason: change.reason,
              ...(change.tokenId === undefined ? {} : { tokenId: change.tokenId }),
              ...(change.except === undefined ? {} : { except: change.except }),
            }
          : change;
      bus.publish(message).catch((err) => {
        app.log.error({ err, change: change.kind }, 'could not broadcast a session change');
      });
    });

    // Session check: one at a time (a slow database must not pile checks up), two batched
    // queries per run whatever the number of streams; close waits for the one running.
    let checking: Promise<number> | null = null;
    const checkSessions = (): Promise<number> => {
      checking ??= (async () => {
        // Open streams' sessions and every session the auth cache holds: both must notice an
        // ending that no bus message announced.
        const ended = await app.auth.findEndedSessions(hub.sessions());
        if (ended.size > 0) {
          app.log.info({ sessions: ended.size }, 'ending streams of sessions ended elsewhere');
          hub.endTokens(ended, 'revoked');
        }
        return ended.size;
      })()
        .catch((err: unknown) => {
          // The database being away is no bug: the streams stay open and the next check retries.
          if (err instanceof ServiceUnavailableError)
            app.log.warn({ err }, 'session check skipped: database unavailable');
          else app.log.error({ err }, 'checking the sessions of open streams failed');
          return 0;
        })
        .finally(() => {
          checking = null;
        });
      return checking;
    };
    const sessionTimer = setInterval(checkSessions, config.sseSessionCheckSeconds * 1000);
    sessionTimer.unref();

    const events: Events = {
      log,
      bus,
      async publish(to, message) {
        const event = await backend.publish(to, encode(to, message));
        counters.published.inc();
        return event;
      },
      async transaction(work) {
        let published = 0;
        const result = await transact((trx, publish) =>
          work(trx, async (to, message) => {
            const event = await publish(to, encode(to, message));
            published++;
            return event;
          }),
        );
        counters.published.inc({}, published);
        return result;
      },
      latestId: () => log.latestId(),
      newestKnownId: () => backend.newestKnownId(),
      prune: () => log.prune(),
      checkSessions,
      connectionCount: (username) => (username === undefined ? hub.size : hub.countFor(username)),
    };
    app.decorate('events', events);
    registerLastEventIdLocal(app, events.newestKnownId);

    // Retention sweep: on start, then periodically; the timer is this app's and dies with it.
    // One sweep at a time: a slow sweep must not pile up others, and close awaits the one running.
    let pruning: Promise<unknown> | null = null;
    const prune = () => {
      pruning ??= log
        .prune()
        .catch((err: unknown) => app.log.warn({ err }, 'pruning the event log failed'))
        .finally(() => {
          pruning = null;
        });
    };
    const pruneTimer = setInterval(prune, config.ssePruneIntervalSeconds * 1000);
    pruneTimer.unref();
    app.addHook('onReady', async () => prune());

    // preClose runs before the server stops waiting for connections: ending every stream here
    // is what lets shutdown finish (clients reconnect to another instance and resume).
    app.addHook('preClose', async () => {
      // Bounded: a peer that stopped reading must not hold shutdown up (its socket is cut next).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        hub.closeAll(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, STREAM_FLUSH_MS);
        }),
      ]);
      clearTimeout(timer);
    });
    app.addHook('onClose', async () => {
      clearInterval(pruneTimer);
      clearInterval(sessionTimer);
      await Promise.all([pruning, checking]);
      unsubscribe();
      await backend.close();
    });

    await app.register(streamRoutes, {
      config,
      hub,
      log,
      counters,
      available: () => backend.available,
    });
    if (config.publishApiKey !== null) await app.register(publishRoutes, { apiKey: config.publishApiKey });
  },
  { name: 'events', dependencies: ['db', 'auth', 'metrics'] },
);

export type StreamCounters = ReturnType<typeof createStreamCounters>;

function createStreamCounters(metrics: Metrics) {
  return {
    published: metrics.counter('sse_messages_published_total', 'Messages published through this instance'),
    delivered: metrics.counter(
      'sse_messages_delivered_total',
      'Messages written to streams on this instance',
    ),
    replayed: metrics.counter('sse_messages_replayed_total', 'Messages replayed to resuming streams'),
    reloads: metrics.counter('sse_reloads_total', 'Resuming streams told to reload', ['reason']),
    opened: metrics.counter('sse_streams_opened_total', 'Event streams opened on this instance'),
    closed: metrics.counter(
      'sse_streams_closed_total',
      'Event streams ended, by reason: client, slow (dropped slow client), auth (session ended), reload, bus-reset, server',
      ['reason'],
    ),
  };
}
