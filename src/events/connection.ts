import type { ServerResponse } from 'node:http';
import type { DeadlineEntry, DeadlineQueue } from './deadlines.ts';
import { formatComment, formatEvent } from './format.ts';
import type { HeartbeatWheel, WheelEntry } from './heartbeat-wheel.ts';
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
  deliver(event: StoredEvent, frame?: Buffer): void;
  /** Writes the replayed history, then everything queued meanwhile, then switches to live. */
  goLive(replay: StoredEvent[]): void;
  /** Sends a named control event (`auth`, `reload`) and closes. */
  end(event: 'auth' | 'reload', data: object): void;
  /** The session was renewed: the stream now lives until `expiresAtMs` (never shorter). */
  extend(expiresAtMs: number): void;
  /** Ends the stream; resolves once its last bytes are handed to the OS (or the socket is gone). */
  close(reason?: 'server' | 'bus-reset'): Promise<void>;
}

/** What every stream of one instance shares: limits, the two timers, and who to tell on close. */
export interface StreamContext {
  /** Bytes the socket may hold unsent before the client counts as stuck and is dropped. */
  maxBufferedBytes: number;
  /** Live messages that may queue while the replay is read; past it the client counts as stuck. */
  maxPending: number;
  heartbeats: HeartbeatWheel<Stream>;
  /** Each stream's next deadline: its renewal prompt, then its expiry. */
  deadlines: DeadlineQueue<Stream>;
  onClose(connection: SseConnection, reason: CloseReason): void;
}

export interface ConnectionOptions {
  username: string;
  tokenId: string;
  topic?: string | null;
  lastId: number;
  /** Unix ms when the credential expires: the stream ends then with an `auth` event. */
  expiresAtMs: number;
  /**
   * How the session renews (src/auth/session-rules.ts): half a token lifetime before expiry, the
   * stream sends `event: renew` with the URL that renews it (SSEXI.js posts to it), unless the
   * session is at its cap. Absent: no prompts.
   */
  renewal?: { lifetimeMs: number; capMs: number; url: string };
  /** The opening request's logger: the stream's closing line carries its request id. */
  log: StreamLog;
}

/** The part of a (pino) logger a stream uses. */
export interface StreamLog {
  info(fields: object, message: string): void;
}

const HEARTBEAT = Buffer.from(formatComment());

/**
 * One open stream. A class, not closures: 10,000 idle streams should cost little more than
 * their sockets, so per-stream state is a handful of fields and the methods are shared, and its
 * heartbeats and deadlines run off the instance's one wheel and one queue. Every path out goes
 * through `finish`, which leaves both and tells the owner exactly once. Writes never queue
 * without bound: when the socket's unsent bytes pass the cap the client is dropped (it resumes
 * from its last id).
 */
export class Stream implements SseConnection, WheelEntry, DeadlineEntry {
  readonly username: string;
  readonly tokenId: string;
  readonly topic: string | null;
  /** Unix ms at which the stream opened (its closing log line says how long it lived). */
  readonly openedAt = Date.now();
  readonly log: StreamLog;
  lastId: number;
  closed = false;
  wheelSlot = -1;
  deadlineMs = 0;
  deadlineIndex = -1;
  private expiresAtMs: number;
  /** The expiry the last `renew` prompt was sent for: one prompt per token. */
  private promptedFor = 0;
  private pending: StoredEvent[] | null = [];
  private readonly renewal: ConnectionOptions['renewal'] | null;
  private readonly res: ServerResponse;
  private readonly context: StreamContext;

  constructor(res: ServerResponse, options: ConnectionOptions, context: StreamContext) {
    this.res = res;
    this.context = context;
    this.username = options.username;
    this.tokenId = options.tokenId;
    this.topic = options.topic ?? null;
    this.lastId = options.lastId;
    this.expiresAtMs = options.expiresAtMs;
    this.renewal = options.renewal ?? null;
    this.log = options.log;
    releaseHead(res);
    res.on('close', () => this.finish('client'));
    context.heartbeats.add(this);
  }

  /** Called by the wheel once per heartbeat period: a comment line keeps proxies from timing out. */
  heartbeat(): void {
    this.write(HEARTBEAT);
  }

  /**
   * Sends the renewal prompt once its time has come, then waits for the next deadline (the
   * prompt, or expiry) — or ends the stream when its credential has expired. The deadline queue
   * calls it when the stream's deadline is due.
   */
  schedule(): void {
    if (this.closed) return;
    const now = Date.now();
    const renewal = this.renewal;
    const promptAt =
      renewal && this.promptedFor !== this.expiresAtMs && this.expiresAtMs < renewal.capMs
        ? this.expiresAtMs - Math.floor(renewal.lifetimeMs / 2)
        : Number.POSITIVE_INFINITY;
    if (renewal && promptAt <= now) {
      this.promptedFor = this.expiresAtMs;
      this.write(formatEvent({ event: 'renew', data: JSON.stringify({ url: renewal.url }) }));
    }
    const next = promptAt > now ? Math.min(this.expiresAtMs, promptAt) : this.expiresAtMs;
    if (next <= now) {
      this.end('auth', { reason: 'expired', redirect: '/login' });
      return;
    }
    this.context.deadlines.remove(this);
    this.deadlineMs = next;
    this.context.deadlines.add(this);
  }

  deliver(event: StoredEvent, frame?: Buffer): void {
    if (this.pending === null) this.writeEvent(event, frame);
    else if (this.pending.push(event) > this.context.maxPending) this.finish('slow');
  }

  goLive(replay: StoredEvent[]): void {
    const queued = this.pending ?? [];
    this.pending = null;
    for (const event of replay) this.writeEvent(event);
    for (const event of queued.sort((a, b) => a.id - b.id)) this.writeEvent(event);
  }

  end(event: 'auth' | 'reload', data: object): void {
    this.write(formatEvent({ event, data: JSON.stringify(data) }));
    this.finish(event);
  }

  extend(expiresAtMs: number): void {
    if (this.closed || expiresAtMs <= this.expiresAtMs) return;
    this.expiresAtMs = expiresAtMs;
    this.schedule();
  }

  close(reason: 'server' | 'bus-reset' = 'server'): Promise<void> {
    this.finish(reason);
    const res = this.res;
    if (res.writableFinished || res.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      res.once('finish', resolve);
      res.once('close', resolve);
    });
  }

  private writeEvent(event: StoredEvent, frame?: Buffer): void {
    if (event.id <= this.lastId) return;
    this.lastId = event.id;
    this.write(frame ?? formatStoredEvent(event));
  }

  private write(chunk: string | Buffer): void {
    if (this.closed) return;
    this.res.write(chunk);
    if (this.res.writableLength > this.context.maxBufferedBytes) this.finish('slow');
  }

  private finish(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = null;
    this.context.heartbeats.remove(this);
    this.context.deadlines.remove(this);
    // A client that left or stopped reading gets nothing more: destroying frees the socket now
    // (ending it would wait on a peer that is gone or never reads).
    if (reason === 'client' || reason === 'slow') this.res.destroy();
    else if (!this.res.writableEnded) this.res.end();
    this.context.onClose(this, reason);
  }
}

/**
 * Node keeps the response head it sent (`res._header`) for the response's whole life, as the
 * string it concatenated header by header (~530 bytes for our headers, in ~80 fragments). Once
 * the head has gone out (`_headerSent`) Node only asks whether that string is there (`headersSent`,
 * and the guards that refuse a second head), never reads it again: a one-character stand-in keeps
 * those answers and frees about half a KiB per open stream.
 */
function releaseHead(res: ServerResponse): void {
  const head = res as unknown as { _header?: unknown; _headerSent?: unknown };
  if (head._headerSent === true && typeof head._header === 'string') head._header = ' ';
}

/**
 * Opens a stream on `res` (its head already written) and schedules its first deadline; a
 * credential already at its end (or a renewal already due) is dealt with at once.
 */
export function createSseConnection(
  res: ServerResponse,
  options: ConnectionOptions,
  context: StreamContext,
): SseConnection {
  const stream = new Stream(res, options, context);
  stream.schedule();
  return stream;
}

/** The wire form of a stored message, its id and its JSON as `data`, encoded once for every stream. */
export function formatStoredEvent(event: StoredEvent): Buffer {
  return Buffer.from(formatEvent({ id: event.id, data: event.data }));
}
