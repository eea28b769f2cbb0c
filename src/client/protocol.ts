/**
 * The SSEXI message format: the JSON object carried in each SSE `data:` field. Type-only, so the
 * server can `import type` it without pulling browser code into Node.
 *
 * Backward compatible with the seed library: a plain string html value keeps its old meaning, and
 * `{content, swap}` is an opt-in extension per target.
 */

/**
 * How an html value is put into its target element (found by id).
 * - `inner`: replace the children; `outer`: replace the element itself.
 * - `append` / `prepend`: add as last / first children; `before` / `after`: add as siblings.
 *   These four are idempotent: a top-level element of the content whose id is already in the
 *   document replaces that element in place instead of being added again (a replayed add).
 * - `remove`: remove the target (content ignored).
 * - `morph`: like the default rule, but by morphing the existing DOM (keeps focus, typed input
 *   values and element identity); loads `ssexi-morph.js` on first use.
 *
 * Without a mode the seed's rule applies: when the fragment's root element has the target's tag
 * name, it replaces the target's children and attributes (the id is kept); otherwise `inner`.
 */
export type SwapMode = 'inner' | 'outer' | 'append' | 'prepend' | 'before' | 'after' | 'remove' | 'morph';

/** An html update for one target: the seed's plain string, or content with an explicit mode. */
export type HtmlUpdate = string | { content?: string; swap?: SwapMode };

/** One message. `js` keys are applied first (as the seed did), then `html` targets, in key order. */
export interface SseMessage {
  /** Element id → html to put there. */
  html?: Record<string, HtmlUpdate>;
  /** `exec`: code run as a nonce-carrying script; every other key sets `window[key]`. */
  js?: { exec?: string; [name: string]: unknown };
}

/** Data of the named `auth` control event: the session ended, go to `redirect` and stop. */
export interface AuthEventData {
  reason: 'logout' | 'logout-all' | 'expired' | 'revoked' | 'removed' | 'password-changed' | (string & {});
  /** A same-origin path; anything else is ignored in favour of the login page. */
  redirect?: string;
}

/** Data of the named `reload` control event: the client missed messages that cannot be replayed. */
export interface ReloadEventData {
  /** `replay-gap`: past retention; `log-reset`: the id is from a log that no longer exists. */
  reason: 'replay-gap' | 'log-reset' | (string & {});
}
