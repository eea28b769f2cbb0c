/**
 * The rules that decide whether a session stands and when it renews, in one place. Per-request
 * authentication, the periodic re-check of open streams and cached sessions, and stream expiry
 * all apply these functions, so they can never disagree about who is still signed in.
 *
 * A session is a row in `sessions` (src/auth/sessions.ts). It stands while its user exists and
 * owns it and it has not been ended; the token presented must also verify (signature, `exp`).
 * A token with no row was minted elsewhere — by the Python template, or by an earlier version
 * of this app — and is *adopted* (given a row) if it would have been accepted before session
 * rows existed: issued at or after the user's `tokens_valid_after` ("log out everywhere") and not
 * in the legacy revocation list.
 *
 * Expiry slides: a token lives ACCESS_TOKEN_EXPIRE_HOURS (the idle timeout); once less than half
 * of that is left, using the session renews it — a new token for the same session, expiring a
 * full lifetime from now — but never past the session's absolute cap (SESSION_MAX_AGE_DAYS after
 * sign-in). Times are Unix seconds.
 */

/** A row as the rule needs it. */
export interface SessionState {
  user_id: number;
  ended_at: number | null;
}

/** True while the session stands. */
export function isSessionCurrent(facts: {
  user: { id: number } | null;
  session: SessionState | null;
}): boolean {
  const { user, session } = facts;
  return user !== null && session !== null && session.user_id === user.id && session.ended_at === null;
}

/** Whether a verified token without a session row may be given one. */
export function mayAdopt(facts: {
  user: { tokens_valid_after: number } | null;
  revoked: boolean;
  issuedAt: number;
}): boolean {
  return facts.user !== null && !facts.revoked && facts.issuedAt >= facts.user.tokens_valid_after;
}

/** When a token of `lifetime` seconds expiring at `exp` becomes renewable. */
export function renewableAt(exp: number, lifetime: number): number {
  return exp - Math.floor(lifetime / 2);
}

/**
 * The expiry a renewal would give a token expiring at `exp`, or null when it is not due yet
 * (more than half its lifetime left, unless `asked`: the client asked explicitly) or would gain
 * nothing (the session is at its cap).
 */
export function renewedExpiry(facts: {
  now: number;
  exp: number;
  lifetime: number;
  absoluteExpiresAt: number;
  asked?: boolean;
}): number | null {
  if (!facts.asked && facts.now < renewableAt(facts.exp, facts.lifetime)) return null;
  const next = Math.min(facts.now + facts.lifetime, facts.absoluteExpiresAt);
  return next > facts.exp ? next : null;
}
