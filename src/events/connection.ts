import type { ServerResponse } from 'node:http';
import { formatComment, formatEvent } from './format.ts';
import type { StoredEvent } from './types.ts';

/**
 * Why a stream ended: the client left, it could not keep up, its session ended (`auth`), it must
 * reload, this instance lost its bus link (`bus-reset`), or the server closed it (shutdown).
 */
export type CloseReason = 'client' | 'slow' | 'auth' | 'reload' | 'bus-reset' | 'server';

export interface SseConnection {
  readonly username: string;
  /** The session the stream belongs to: it ends when that session ends. */
  readonly tokenId: string;
  /** The extra recipient it also receives (`<username>#<topic>`), or null. */
  readonly topic: string | null;
  /** Id of the last message written; later duplicates (replay racing live delivery) are skipped. */
  readonly lastId: number;
  readonly closed: boolean;
  /** Queues (before `goLive`) or writes a message; `frame` is its wire form when already built. */
  deliver(event: StoredEvent, frame?: string): void;
  /** Writes the replayed history, then everything queued meanwhile, then switches to live. */
  goLive(replay: StoredEvent[]): void;
  /** Sends a named control event (`auth`, `reload`) and closes. */
  end(event: 'auth' | 'reload', data: object): void;
  /** The session was renewed: the stream now lives until `expiresAtMs` (never shorter). */
  extend(expiresAtMs: number): void;
  /** Ends the stream; resolves once its last bytes are handed to the OS (or the socket is gone). */
  close(reason?: 'server' | 'bus-reset'): Promise<void>;
}

export interface ConnectionOptions {
  username: string;
  tokenId: string;
  topic?: string | null;
  lastId: number;
  heartbeatMs: number;
  /** Unix ms when the credential expires: the stream ends then with an `auth` event. */
  expiresAtMs: number;
  /**
   * How the session renews (src/auth/session-rules.ts): half a token lifetime before expiry, the
   * stream sends `event: renew` with the URL that renews it (SSEXI.js posts to it), unless the
   * session is at its cap. Absent: no prompts.
   */
  renewal?: { lifetimeMs: number; capMs: number; url: string };
  /** Bytes the socket may hold unsent before the client counts as stuck and is dropped. */
  maxBufferedBytes: number;
  /** Live messages that may queue while the replay is read; past it the client counts as stuck. */
  maxPending: number;
  onClose(connection: SseConnection, reason: CloseReason): void;
}

/**
 * One open stream. Owns its timers and its socket; every path out goes through `finish`, which
 * clears the heartbeat and tells the owner exactly once. Writes never queue without bound: when
 * the socket's unsent bytes pass the cap the client is dropped (it resumes from its last id).
 */
export function createSseConnection(res: ServerResponse, options: ConnectionOptions): SseConnection {
  let lastId = options.lastId;
  let closed = false;
  let pending: StoredEvent[] | null = [];

  const finish = (reason: CloseReason) => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    clearTimeout(expiry);
    pending = null;
    // A client that left or stopped reading gets nothing more: destroying frees the socket now
    // (ending it would wait on a peer that is gone or never reads).
    if (reason === 'client' || reason === 'slow') res.destroy();
    else if (!res.writableEnded) res.end();
    options.onClose(connection, reason);
  };

  const write = (chunk: string) => {
    if (closed) return;
    res.write(chunk);
    if (res.writableLength > options.maxBufferedBytes) finish('slow');
  };

  const writeEvent = (event: StoredEvent, frame?: string) => {
    if (event.id <= lastId) return;
    lastId = event.id;
    write(frame ?? formatStoredEvent(event));
  };

  const heartbeat = setInterval(() => write(formatComment()), options.heartbeatMs);
  let expiry: NodeJS.Timeout | undefined;
  let expiresAtMs = options.expiresAtMs;
  /** The expiry the last `renew` prompt was sent for: one prompt per token. */
  let promptedFor = 0;
  const { renewal } = options;
  const armExpiry = () => {
    clearTimeout(expiry);
    const now = Date.now();
    const promptAt =
      renewal && promptedFor !== expiresAtMs && expiresAtMs < renewal.capMs
        ? expiresAtMs - Math.floor(renewal.lifetimeMs / 2)
        : Number.POSITIVE_INFINITY;
    if (promptAt <= now && renewal) {
      promptedFor = expiresAtMs;
      write(formatEvent({ event: 'renew', data: JSON.stringify({ url: renewal.url }) }));
    }
    const next = Math.min(expiresAtMs, promptAt > now ? promptAt : expiresAtMs);
    // setTimeout cannot wait past 2^31-1 ms; long-lived tokens re-arm until their time comes.
    if (next > now) expiry = setTimeout(armExpiry, Math.min(next - now, MAX_TIMER_MS));
    else connection.end('auth', { reason: 'expired', redirect: '/login' });
  };
  res.on('close', () => finish('client'));

  const connection: SseConnection = {
    username: options.username,
    tokenId: options.tokenId,
    topic: options.topic ?? null,
    get lastId() {
      return lastId;
    },
    get closed() {
      return closed;
    },
    deliver(event, frame) {
      if (!pending) return writeEvent(event, frame);
      pending.push(event);
      if (pending.length > options.maxPending) finish('slow');
    },
    goLive(replay) {
      const queued = pending ?? [];
      pending = null;
      for (const event of replay) writeEvent(event);
      for (const event of queued.sort((a, b) => a.id - b.id)) writeEvent(event);
    },
    end(event, data) {
      write(formatEvent({ event, data: JSON.stringify(data) }));
      finish(event);
    },
    extend(until) {
      if (closed || until <= expiresAtMs) return;
      expiresAtMs = until;
      armExpiry();
    },
    close(reason = 'server') {
      finish(reason);
      if (res.writableFinished || res.destroyed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        res.once('finish', resolve);
        res.once('close', resolve);
      });
    },
  };
  armExpiry();
  return connection;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** The wire form of a stored message: its id and its JSON as `data`. */
export function formatStoredEvent(event: StoredEvent): string {
  return formatEvent({ id: event.id, data: event.data });
}
