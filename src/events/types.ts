import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';

/** One published message as stored in the log and carried by the bus. */
export interface StoredEvent {
  /** Monotonic across the whole deployment: the SSE `id`, and the resume point. */
  id: number;
  /** A username, or `*` for every connected user. */
  recipient: string;
  /** The JSON text of one SSEXI message. */
  data: string;
  /** Unix milliseconds. */
  createdAt: number;
}

export const BROADCAST = '*';

/** What the log knows about resuming after some id, read in an order that makes gaps visible. */
export interface ReplayWindow {
  /** Messages for the recipients with id > afterId, oldest first, at most `limit + 1`. */
  events: StoredEvent[];
  /**
   * The highest id ever pruned for any of the recipients (0 when none). Read *after* `events`:
   * a prune racing the read can only raise it, so a missing message is never taken for "none".
   */
  prunedThrough: number;
  /** The newest id the log has issued, 0 when none. */
  latestId: number;
  /**
   * Ids of this log are above it; a resume point below it names a message of an older log
   * (Redis came back empty), so the client must reload. 0 for logs that are never recreated.
   */
  epoch: number;
}

/**
 * Durable, bounded history of published messages, for replay on resume. Ids are issued in the
 * order messages become visible to readers (commit order == id order), so a reader that has seen
 * id N has seen every id below N it will ever see.
 */
export interface EventLog {
  /** Stores a message and returns it with its id. */
  append(recipient: string, data: string): Promise<StoredEvent>;
  /** Messages after `afterId` for any of `recipients` (at most `limit + 1`), with the gap facts. */
  readAfter(recipients: string[], afterId: number, limit: number): Promise<ReplayWindow>;
  /** The newest id issued, 0 when none: a page rendered now resumes from it. */
  latestId(): Promise<number>;
  /** Enforces retention (count per recipient, age); returns how many messages were dropped. */
  prune(): Promise<number>;
  /**
   * Deletes every message of a user's channels — `username` and its page topics (`username#…`)
   * — and raises their horizons over them (a resume from before now reloads); returns how many
   * went. For a deleted account: its messages must not replay to a new account of the same name.
   */
  forget(username: string): Promise<number>;
  close(): Promise<void>;
}

/** Carries published messages and control signals to every instance (itself included). */
export interface EventBus {
  publish(message: BusMessage): Promise<void>;
  subscribe(handler: (message: BusMessage) => void): () => void;
  close(): Promise<void>;
}

export type BusMessage =
  | { kind: 'event'; event: StoredEvent }
  /** Sessions ended: one (`tokenId`), or every one of the user's but `except`. */
  | { kind: 'session-ended'; username: string; tokenId?: string; except?: string; reason: string }
  /** A session's token was renewed: its streams live until `expiresAt` (Unix seconds). */
  | { kind: 'session-renewed'; username: string; tokenId: string; expiresAt: number }
  /** Something cached about a user's sessions changed (their email): instances forget it. */
  | { kind: 'user-changed'; username: string }
  /** This instance may have missed messages (its bus link dropped): streams must resume from the log. */
  | { kind: 'reset' };

/**
 * A log and a bus that belong together: `publish` stores a message and hands it to every
 * instance's subscribers in id order (so a stream's "skip ids ≤ the last one sent" rule never
 * drops a message).
 */
export interface EventBackend {
  readonly log: EventLog;
  readonly bus: EventBus;
  /**
   * False while the bus cannot deliver (its link is down): streams opened now would miss
   * messages, so they are refused (503) and clients retry. Database faults show up per query.
   */
  readonly available: boolean;
  /**
   * The newest id this instance knows the log holds, without asking it: read at start, raised by
   * every message this instance stores or hears of and by every replay read, and moved to the new
   * log when the log is recreated (a new epoch). Never ahead of the log; behind it at most by
   * what is still on its way here.
   */
  newestKnownId(): number;
  publish(recipient: string, data: string): Promise<StoredEvent>;
  /**
   * Runs `work` in one database transaction in which the messages it publishes are stored with
   * its other writes: all commit, or none does; streams hear of them after the commit. Only a
   * backend whose log is the database has it; for the others, see `transaction` in plugin.ts.
   */
  transact?<T>(work: TransactionWork<T>): Promise<T>;
  /** Waits for in-flight publishes, then closes the bus and the log. */
  close(): Promise<void>;
}

export interface RetentionPolicy {
  /** Messages kept per recipient (a user, or `*`). */
  perRecipient: number;
  /** Bytes of messages kept per recipient: past it, its oldest messages are dropped. */
  bytesPerRecipient: number;
  /** Messages older than this are dropped. */
  maxAgeMs: number;
}

/** Stores one message (its JSON text) for a recipient as part of the surrounding transaction. */
export type PublishWithin = (recipient: string, data: string) => Promise<StoredEvent>;

/** A feature's writes and the messages announcing them, run in one database transaction. */
export type TransactionWork<T> = (trx: Transaction<Database>, publish: PublishWithin) => Promise<T>;
