import type { ColumnType, Generated } from 'kysely';

/** `users` keeps the Python template's columns untouched; ours come after, with defaults. */
export interface UsersTable {
  id: Generated<number>;
  username: string;
  hashed_password: string;
  /** Unix seconds; tokens issued before it are rejected ("log out everywhere"). */
  tokens_valid_after: ColumnType<number, number | undefined, number>;
  /** Lower-cased; unverified until `email_verified_at` is set (migration 009). */
  email: ColumnType<string | null, string | null | undefined, string | null>;
  /** Unix seconds. */
  email_verified_at: ColumnType<number | null, number | null | undefined, number | null>;
}

/** One signed-in session (src/auth/sessions.ts); times are Unix seconds. */
export interface SessionsTable {
  /** The token's `jti`, or the canonical id of a token without one. */
  id: string;
  user_id: number;
  created_at: number;
  last_seen_at: number;
  /** Expiry of the newest token issued for the session (it slides while the session is used). */
  expires_at: number;
  /** No renewal goes past this (SESSION_MAX_AGE_DAYS after sign-in). */
  absolute_expires_at: number;
  /** 1: "remember me" (a persistent cookie); 0: a browser-session cookie. */
  persistent: ColumnType<number, number | undefined, number>;
  user_agent: ColumnType<string, string | undefined, string>;
  ip: ColumnType<string, string | undefined, string>;
  ended_at: ColumnType<number | null, number | null | undefined, number | null>;
}

/** Single-use mail tokens, stored as SHA-256 (src/accounts/account-tokens.ts). */
export interface AccountTokensTable {
  token_hash: string;
  user_id: number;
  purpose: string;
  /** The address the token was sent to: verifying it must not verify a later one. */
  email: string;
  created_at: number;
  expires_at: number;
}

/** The account page's security activity (src/accounts/activity.ts). */
export interface SecurityEventsTable {
  id: Generated<number>;
  user_id: number;
  kind: string;
  /** Unix seconds. */
  created_at: number;
  ip: ColumnType<string, string | undefined, string>;
  user_agent: ColumnType<string, string | undefined, string>;
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
  sessions: SessionsTable;
  account_tokens: AccountTokensTable;
  security_events: SecurityEventsTable;
}
