import type { ServerResponse } from 'node:http';
import type { DeadlineEntry, DeadlineQueue } from './deadlines.ts';
import { formatComment, formatEvent } from './format.ts';
import type { HeartbeatWheel, WheelEntry } from './heartbeat-wheel.ts';
import type { StoredEvent } from './types.ts';

export interface SseConnection {
  readonly username: string;
  readonly tokenId: string;
  /** Unix seconds at which the stream's token was issued: re-checked against `tokens_valid_after`. */
  readonly issuedAt: number;
  /** Id of the last message written; later duplicates (replay racing live delivery) are skipped. */
  readonly lastId: number;
  readonly closed: boolean;
  /** Queues (before `goLive`) or writes a message; `frame` is its wire form when already built. */
  deliver(event: StoredEvent, frame?: Buffer): void;
  /** Writes the replayed history, then everything queued meanwhile, then switches to live. */
  goLive(replay: StoredEvent[]): void;
  /** Sends a named control event (`auth`, `reload`) and closes. */
  end(event: string, data: object): void;
  /** Ends the stream; resolves once its last bytes are handed to the OS (or the socket is gone). */
  close(): Promise<void>;
}

export type CloseReason = 'client' | 'server' | 'slow';

/** What every stream of one instance shares: limits, the two timers, and who to tell on close. */
export interface StreamContext {
  /** Bytes the socket may hold unsent before the client counts as stuck and is dropped. */
  maxBufferedBytes: number;
  /** Live messages that may queue while the replay is read; past it the client counts as stuck. */
  maxPending: number;
  heartbeats: HeartbeatWheel<Stream>;
  expiries: DeadlineQueue<Stream>;
  onClose(connection: SseConnection, reason: CloseReason): void;
}

export interface ConnectionOptions {
  username: string;
  tokenId: string;
  issuedAt: number;
  lastId: number;
  /** Unix ms when the credential expires: the stream ends then with an `auth` event. */
  expiresAtMs: number;
}

const HEARTBEAT = Buffer.from(formatComment());

/**
 * One open stream. A class, not closures: 10,000 idle streams should cost little more than
 * their sockets, so per-stream state is a handful of fields and the methods are shared. Every
 * path out goes through `finish`, which leaves the heartbeat wheel and the expiry queue and
 * tells the owner exactly once. Writes never queue without bound: when the socket's unsent bytes
 * pass the cap the client is dropped (it resumes from its last id).
 */
export class Stream implements SseConnection, WheelEntry, DeadlineEntry {
  readonly username: string;
  readonly tokenId: string;
  readonly issuedAt: number;
  readonly deadlineMs: number;
  lastId: number;
  closed = false;
  wheelSlot = -1;
  deadlineIndex = -1;
  private pending: StoredEvent[] | null = [];
  private readonly res: ServerResponse;
  private readonly context: StreamContext;

  constructor(res: ServerResponse, options: ConnectionOptions, context: StreamContext) {
    this.res = res;
    this.context = context;
    this.username = options.username;
    this.tokenId = options.tokenId;
    this.issuedAt = options.issuedAt;
    this.lastId = options.lastId;
    this.deadlineMs = options.expiresAtMs;
    releaseHeadPieces(res);
    res.on('close', () => this.finish('client'));
    context.heartbeats.add(this);
    context.expiries.add(this);
  }

  /** Called by the wheel once per heartbeat period: a comment line keeps proxies from timing out. */
  heartbeat(): void {
    this.write(HEARTBEAT);
  }

  /** Called by the expiry queue when the credential expires. */
  expire(): void {
    this.end('auth', { reason: 'expired', redirect: '/login' });
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

  end(event: string, data: object): void {
    this.write(formatEvent({ event, data: JSON.stringify(data) }));
    this.finish('server');
  }

  close(): Promise<void> {
    this.finish('server');
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
    this.context.expiries.remove(this);
    // A client that left or stopped reading gets nothing more: destroying frees the socket now
    // (ending it would wait on a peer that is gone or never reads).
    if (reason !== 'server') this.res.destroy();
    else if (!this.res.writableEnded) this.res.end();
    this.context.onClose(this, reason);
  }
}

/**
 * Node keeps the response head it sent (`res._header`) for the response's whole life, as the
 * string it concatenated header by header: ~80 fragments (32 bytes each) for our ~16 headers.
 * Flattening it in place (a numeric conversion does; pino's `flatstr` trick) leaves one string
 * and frees the fragments: about 2 KB per open stream, a quarter of its cost.
 */
function releaseHeadPieces(res: ServerResponse): void {
  const head = (res as unknown as { _header?: unknown })._header;
  if (typeof head === 'string') Number(head);
}

/** Opens a stream on `res` (its head already written) and registers it with the shared timers. */
export function createSseConnection(
  res: ServerResponse,
  options: ConnectionOptions,
  context: StreamContext,
): SseConnection {
  const stream = new Stream(res, options, context);
  // Expired while the stream opened (a token at the very end of its life).
  if (options.expiresAtMs <= Date.now()) stream.expire();
  return stream;
}

/** The wire form of a stored message, its id and its JSON as `data`, encoded once for every stream. */
export function formatStoredEvent(event: StoredEvent): Buffer {
  return Buffer.from(formatEvent({ id: event.id, data: event.data }));
}
