/**
 * The scale-out pair: the log in Redis Streams (one stream per recipient, exact retention, a
 * horizon per recipient) and the bus on one Redis pub/sub channel. Every instance of a deployment
 * shares both, so a message published anywhere reaches streams everywhere, and a client resumes
 * from whichever instance it reconnects to. Ordering and atomicity: see redis-scripts.ts.
 *
 * Pub/sub is fire-and-forget: while this instance's subscription is down it misses messages.
 * It then emits `reset` twice — when the link drops and once it is subscribed again — so every
 * stream open here closes and its client resumes from the log, which misses nothing.
 *
 * While Redis is away nothing is queued or hidden: publishing throws ServiceUnavailableError
 * (503), the backend reports itself unavailable so new streams are refused until both links are
 * back, and `latestId` answers the newest id this instance has seen (see `newestSeen`). A Redis
 * that comes back empty starts a new epoch (redis-scripts.ts): resuming clients are told to
 * reload, and the newest id pages are rendered with moves to the new log.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ServiceUnavailableError } from '../service-unavailable.ts';
import { decodeBusMessage, encodeBusMessage } from './bus-codec.ts';
import { closeRedis, FAIL_FAST_OPTIONS, guardRedis, loadIoredis } from './redis-faults.ts';
import {
  APPEND_SCRIPT,
  FORGET_SCRIPT,
  OPEN_LOG_SCRIPT,
  PRUNE_BY_AGE_SCRIPT,
  redisKeys,
} from './redis-scripts.ts';
import type { BusMessage, EventBackend, EventBus, EventLog, RetentionPolicy, StoredEvent } from './types.ts';

/** How long start-up waits for Redis (Fastify's own plugin timeout is 10 s). */
const CONNECT_TIMEOUT_MS = 5000;

interface ScriptCommands {
  sseOpenLog(...args: (string | number)[]): Promise<[number, number]>;
  sseAppend(...args: (string | number)[]): Promise<number>;
  ssePruneByAge(...args: (string | number)[]): Promise<number>;
  sseForget(...args: (string | number)[]): Promise<number>;
}

export interface RedisBackendOptions {
  url: string;
  /** Key and channel namespace; see `defaultRedisPrefix`. */
  prefix: string;
  retention: RetentionPolicy;
  onError(error: unknown): void;
  /** How often both links are checked for a silent death (default 15 s; the server uses its heartbeat). */
  linkCheckMs?: number;
}

/**
 * One namespace per deployment when REDIS_KEY_PREFIX is unset: the instances of a deployment share
 * SECRET_KEY and DATABASE_URL, two deployments (or two test apps) on one Redis do not. Hashed so
 * the secret never reaches Redis.
 */
export function defaultRedisPrefix(secretKey: string, databaseUrl: string): string {
  const scope = createHash('sha256').update(`${secretKey}\0${databaseUrl}`).digest('hex');
  return `auth-sse:events:${scope.slice(0, 16)}:`;
}

type StreamEntry = [id: string, fields: string[]];

function toEvent(recipient: string, [entryId, fields]: StreamEntry): StoredEvent {
  const field = (name: string) => fields[fields.indexOf(name) + 1] ?? '';
  return { id: Number.parseInt(entryId, 10), recipient, data: field('d'), createdAt: Number(field('t')) };
}

export async function createRedisBackend(options: RedisBackendOptions): Promise<EventBackend> {
  const keys = redisKeys(options.prefix);
  const { perRecipient, bytesPerRecipient, maxAgeMs } = options.retention;
  const slack = Math.floor(perRecipient / 10);
  const { Redis } = loadIoredis();
  const redis = new Redis(options.url, FAIL_FAST_OPTIONS);
  redis.defineCommand('sseOpenLog', { numberOfKeys: 2, lua: OPEN_LOG_SCRIPT });
  redis.defineCommand('sseAppend', { numberOfKeys: 6, lua: APPEND_SCRIPT });
  redis.defineCommand('ssePruneByAge', { numberOfKeys: 3, lua: PRUNE_BY_AGE_SCRIPT });
  redis.defineCommand('sseForget', { numberOfKeys: 5, lua: FORGET_SCRIPT });
  const scripts = redis as unknown as ScriptCommands;
  redis.on('error', options.onError);

  // We resubscribe ourselves so `reset` is only emitted once the subscription is really back.
  const subscriber = new Redis(options.url, { autoResubscribe: false, connectionName: keys.channel });
  subscriber.on('error', options.onError);
  const handlers = new Set<(message: BusMessage) => void>();
  const emit = (message: BusMessage) => {
    for (const handler of handlers) handler(message);
  };
  let live = false;
  let closing = false;
  /** True while the subscription is known to be in place. */
  let subscribed = false;
  subscriber.on('message', (channel: string, payload: string) => {
    if (channel !== keys.channel) return;
    const message = decodeBusMessage(payload);
    if (message) emit(message);
    else options.onError(new Error('malformed message on the event bus'));
  });
  subscriber.on('close', () => {
    const wasSubscribed = subscribed;
    subscribed = false;
    if (live && !closing && wasSubscribed) emit({ kind: 'reset' });
  });
  subscriber.on('ready', () => {
    if (!live || closing) return;
    subscriber.subscribe(keys.channel).then(() => {
      emit({ kind: 'reset' });
      subscribed = true;
    }, options.onError);
  });
  // Both clients retry forever once running; at start-up an unreachable Redis is a clear error.
  let timer: NodeJS.Timeout | undefined;
  let onError: ((error: Error) => void) | undefined;
  const ready = new Promise<void>((resolve) => {
    if (redis.status === 'ready') resolve();
    else redis.once('ready', () => resolve());
  });
  try {
    await Promise.race([
      Promise.all([subscriber.subscribe(keys.channel), ready]),
      new Promise((_, reject) => {
        const fail = (detail: string) => reject(new Error(`REDIS_URL: cannot reach Redis (${detail})`));
        onError = (error) => fail(error.message);
        subscriber.once('error', onError);
        timer = setTimeout(() => fail(`no answer within ${CONNECT_TIMEOUT_MS} ms`), CONNECT_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    subscriber.disconnect();
    redis.disconnect();
    throw error;
  } finally {
    clearTimeout(timer);
    if (onError) subscriber.off('error', onError);
  }

  /**
   * The newest id this instance has seen: what a page is rendered with (newestKnownId), and
   * `latestId` while Redis is away. It can only be older than the truth, so a page's stream
   * replays more (what it already shows is applied again), never less. It belongs to one log:
   * when Redis comes back empty, the new log (a new epoch) replaces it rather than raises it —
   * an id of the old log would send every page rendered with it into a reload (below the new
   * epoch), or past the new log's newest id should the old log have run ahead of the clock.
   */
  let newestSeen = 0;
  /** The epoch `newestSeen` belongs to; null until the log has been read. */
  let seenEpoch: number | null = null;
  const see = (id: number) => {
    if (id > newestSeen) newestSeen = id;
  };
  /** What a read of the log says: its newest id and epoch, as of one instant. */
  const follow = (latest: number, epoch: number) => {
    if (epoch === seenEpoch) return see(latest);
    seenEpoch = epoch;
    newestSeen = latest;
  };
  /** The newest id, opening a new log (epoch) first if Redis holds none. */
  const openLog = async () => {
    const [latest, epoch] = await scripts.sseOpenLog(keys.seq, keys.epoch);
    follow(Number(latest), Number(epoch));
    return Number(latest);
  };
  try {
    await guardRedis(openLog);
  } catch (error) {
    subscriber.disconnect();
    redis.disconnect();
    throw error;
  }
  live = true;
  subscribed = true;
  handlers.add((message) => {
    if (message.kind === 'event') see(message.event.id);
  });
  // Back after an outage: messages published meanwhile, or a Redis that came back empty (a new
  // log), are known at once, not at this instance's next publish or replay.
  redis.on('ready', () => {
    if (closing) return;
    guardRedis(openLog).catch((error: unknown) => {
      // Down again already: the next reconnection reads it.
      if (!(error instanceof ServiceUnavailableError)) options.onError(error);
    });
  });

  // A link can die silently (a partition drops packets: no reset, no answer). The subscriber
  // would then starve this instance's streams until TCP gives up, hours later. So each link is
  // pinged every check; one that does not answer in time is dropped and reconnected, which ends
  // the streams here (reset) and refuses new ones until Redis answers again.
  const linkCheckMs = options.linkCheckMs ?? 15_000;
  const pingTimeoutMs = Math.max(1000, Math.min(linkCheckMs, 5000));
  const pinging = new Set<Redis>();
  const linkCheck = setInterval(() => {
    for (const client of [subscriber, redis]) {
      if (client.status !== 'ready' || pinging.has(client)) continue;
      pinging.add(client);
      let timer: NodeJS.Timeout | undefined;
      Promise.race([
        client.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer to PING')), pingTimeoutMs);
        }),
      ])
        .catch((error: unknown) => {
          if (closing) return;
          options.onError(new Error(`Redis link silent; reconnecting (${String(error)})`));
          client.disconnect(true);
        })
        .finally(() => {
          clearTimeout(timer);
          pinging.delete(client);
        });
    }
  }, linkCheckMs);
  linkCheck.unref();

  const latestId = async () => {
    if (redis.status !== 'ready') return newestSeen;
    try {
      return await guardRedis(openLog);
    } catch (error) {
      if (error instanceof ServiceUnavailableError) return newestSeen;
      throw error;
    }
  };

  const log: EventLog = {
    async append(recipient, data) {
      const createdAt = Date.now();
      const id = await guardRedis(() =>
        scripts.sseAppend(
          keys.seq,
          keys.stream(recipient),
          keys.horizons,
          keys.recipients,
          keys.bytes,
          keys.epoch,
          recipient,
          data,
          createdAt,
          perRecipient,
          slack,
          keys.channel,
          bytesPerRecipient,
        ),
      );
      see(Number(id));
      return { id: Number(id), recipient, data, createdAt };
    },

    async readAfter(recipients, afterId, limit) {
      // One MULTI: the streams, the horizons and the counter as of a single instant.
      const multi = redis.multi();
      for (const recipient of recipients)
        multi.xrange(keys.stream(recipient), `${afterId + 1}-0`, '+', 'COUNT', limit + 1);
      multi
        .hmget(keys.horizons, ...recipients)
        .get(keys.seq)
        .get(keys.epoch);
      const results = (await guardRedis(() => multi.exec())) ?? [];
      const value = (i: number): unknown => {
        const [error, result] = results[i] ?? [new Error('missing reply')];
        if (error) throw error;
        return result;
      };
      const events = recipients
        .flatMap((recipient, i) => (value(i) as StreamEntry[]).map((entry) => toEvent(recipient, entry)))
        .sort((a, b) => a.id - b.id)
        .slice(0, limit + 1);
      const horizons = value(recipients.length) as (string | null)[];
      const latest = Number(value(recipients.length + 1) ?? 0);
      // A log written before epochs existed has none: its ids are all from one log.
      const epoch = Number(value(recipients.length + 2) ?? 0);
      follow(latest, epoch);
      return {
        events,
        prunedThrough: Math.max(0, ...horizons.map((h) => Number(h ?? 0))),
        latestId: latest,
        epoch,
      };
    },

    latestId,

    async prune() {
      // Count is enforced on every append; age needs a sweep.
      const cutoff = Date.now() - maxAgeMs;
      let dropped = 0;
      for (const recipient of await guardRedis(() => redis.smembers(keys.recipients)))
        dropped += Number(
          await guardRedis(() =>
            scripts.ssePruneByAge(keys.stream(recipient), keys.horizons, keys.bytes, recipient, cutoff),
          ),
        );
      return dropped;
    },

    async forget(username) {
      const topics = `${username}#`;
      let dropped = 0;
      for (const recipient of await guardRedis(() => redis.smembers(keys.recipients)))
        if (recipient === username || recipient.startsWith(topics))
          dropped += Number(
            await guardRedis(() =>
              scripts.sseForget(
                keys.stream(recipient),
                keys.horizons,
                keys.bytes,
                keys.seq,
                keys.recipients,
                recipient,
              ),
            ),
          );
      return dropped;
    },

    async close() {
      await closeRedis(redis);
    },
  };

  const bus: EventBus = {
    async publish(message) {
      await guardRedis(() => redis.publish(keys.channel, encodeBusMessage(message)));
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async close() {
      closing = true;
      clearInterval(linkCheck);
      handlers.clear();
      await closeRedis(subscriber);
    },
  };

  return {
    log,
    bus,
    get available() {
      return subscribed && redis.status === 'ready';
    },
    newestKnownId: () => newestSeen,
    // The append script publishes on the channel itself, atomically with the append.
    publish: (recipient, data) => log.append(recipient, data),
    async close() {
      await bus.close();
      await log.close();
    },
  };
}
