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

/** Durable, bounded history of published messages, for replay on resume. */
export interface EventLog {
  /** Stores a message and returns it with its id. */
  append(recipient: string, data: string): Promise<StoredEvent>;
  /** Messages for any of `recipients` with id > `afterId`, oldest first, at most `limit`. */
  readAfter(recipients: string[], afterId: number, limit: number): Promise<StoredEvent[]>;
  /** The oldest id still retained for these recipients (null when none): older ids cannot be replayed. */
  oldestRetainedId(recipients: string[]): Promise<number | null>;
  /** The newest id in the log, 0 when empty. */
  latestId(): Promise<number>;
  /** Enforces retention; returns how many messages were dropped. */
  prune(): Promise<number>;
}

/** Carries published messages and control signals to every instance (itself included). */
export interface EventBus {
  publish(event: BusMessage): Promise<void>;
  subscribe(handler: (event: BusMessage) => void): () => void;
  close(): Promise<void>;
}

export type BusMessage =
  | { kind: 'event'; event: StoredEvent }
  | { kind: 'session-ended'; username: string; tokenId?: string; reason: string };
