/**
 * The rule that decides whether a session still stands, in one place. A session is a verified
 * access token; it stands while its user exists, its id is not revoked, and it was issued at or
 * after the user's `tokens_valid_after` ("log out everywhere"). Per-request authentication and
 * the periodic re-check of open event streams both apply this function, so the two can never
 * disagree about who is still signed in.
 */

/** The server-side facts about one verified token, as read from the database. */
export interface SessionFacts<U extends { tokens_valid_after: number }> {
  /** The token's user as it is now; null when the account is gone. */
  user: U | null;
  /** Whether the token's id is in the revocation list. */
  revoked: boolean;
  /** Unix seconds at which the token was issued (`issuedAt()` in tokens.ts). */
  issuedAt: number;
}

/** True while the session stands; narrows `facts.user` to the existing user. */
export function isSessionCurrent<U extends { tokens_valid_after: number }>(
  facts: SessionFacts<U>,
): facts is SessionFacts<U> & { user: U } {
  return facts.user !== null && !facts.revoked && facts.issuedAt >= facts.user.tokens_valid_after;
}
