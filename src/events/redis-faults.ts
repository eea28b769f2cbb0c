/**
 * Redis faults → `ServiceUnavailableError`. Every ioredis error that is not a reply from the
 * server means the command never ran or its answer was lost: the connection is closed or
 * reconnecting (commands are not queued while offline, so they fail at once), or the answer
 * did not come within the command timeout. Of Redis's own replies, only the states a server
 * recovers from (loading its data, a replica being promoted, out of memory, a busy script) are
 * unavailability; any other reply — a bug in a script, a wrong type — stays a 500.
 */
import { createRequire } from 'node:module';
import type * as ioredisModule from 'ioredis';
import type { Redis } from 'ioredis';
import { ServiceUnavailableError } from '../service-unavailable.ts';

/**
 * ioredis, loaded on first use: a deployment without REDIS_URL (the default) never pays for it
 * at start-up (~20 MB of RSS and ~90 ms here). It is CommonJS, so `require` keeps callers
 * synchronous.
 */
export const loadIoredis = () => createRequire(import.meta.url)('ioredis') as typeof ioredisModule;

/** Options for every command connection: fail fast and bounded instead of queueing while Redis is away. */
export const FAIL_FAST_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 5000,
  connectTimeout: 5000,
} as const;

const TRANSIENT_REPLIES = /^(LOADING|READONLY|MASTERDOWN|BUSY|OOM|CLUSTERDOWN|TRYAGAIN|NOREPLICAS)\b/;

export function isRedisUnavailable(error: unknown): boolean {
  if (error instanceof ServiceUnavailableError) return true;
  // Our own mistakes are bugs, whatever client they happened near.
  if (!(error instanceof Error) || error instanceof TypeError || error instanceof RangeError) return false;
  if (error instanceof (loadIoredis().ReplyError as typeof Error))
    return TRANSIENT_REPLIES.test(error.message);
  return true;
}

/** Runs a Redis operation; an availability fault comes out as ServiceUnavailableError. */
export async function guardRedis<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isRedisUnavailable(error) && !(error instanceof ServiceUnavailableError))
      throw new ServiceUnavailableError('redis', { cause: error });
    throw error;
  }
}

/**
 * Closes a client: QUIT lets pending replies arrive, but would wait forever on a link that died
 * silently (or a server that is gone), so after `graceMs` the connection is simply dropped.
 */
export async function closeRedis(client: Redis, graceMs = 1000): Promise<void> {
  if (client.status !== 'ready') return client.disconnect();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.quit().catch(() => {}),
    new Promise((resolve) => {
      timer = setTimeout(resolve, graceMs);
    }),
  ]);
  clearTimeout(timer);
  client.disconnect();
}
