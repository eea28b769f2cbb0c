import type { ColumnType, Generated } from 'kysely';

/** `users` keeps the Python template's columns untouched; ours come after, with defaults. */
export interface UsersTable {
  id: Generated<number>;
  username: string;
  hashed_password: string;
  /** Unix seconds; tokens issued before it are rejected ("log out everywhere"). */
  tokens_valid_after: ColumnType<number, number | undefined, number>;
}

export interface CoursesTable {
  id: Generated<number>;
  user_id: number;
  title: string;
  created_at: number;
}

/** The durable stream log: one row per published message, replayed on resume. */
export interface SseEventsTable {
  id: Generated<number>;
  /** A username, or `*` for a broadcast. */
  recipient: string;
  data: string;
  created_at: number;
}

/**
 * Per recipient: the highest `sse_events.id` deleted by retention (resumes below it reload), and
 * the bytes of its messages still in the log (kept under SSE_LOG_MAX_BYTES).
 */
export interface SseEventHorizonsTable {
  recipient: string;
  pruned_through: number;
  bytes: ColumnType<number, number | undefined, number>;
}

export interface RevokedTokensTable {
  token_id: string;
  /** Unix seconds: the token's own `exp`, after which the row can be pruned. */
  expires_at: number;
}

/** Failed logins per throttle key (account or client address) in the current window. */
export interface LoginFailuresTable {
  throttle_key: string;
  failures: number;
  /** Unix milliseconds at which the window ends. */
  reset_at: number;
}

export interface Database {
  users: UsersTable;
  courses: CoursesTable;
  sse_events: SseEventsTable;
  sse_event_horizons: SseEventHorizonsTable;
  revoked_tokens: RevokedTokensTable;
  login_failures: LoginFailuresTable;
}
