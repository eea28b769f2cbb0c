/**
 * Single-use tokens sent by mail (email verification, password reset), as the Copenhagen Book
 * and better-auth do them: 256 random bits, only their SHA-256 stored (a database leak yields no
 * usable link), bound to one purpose and one address, expiring, and deleted when used — a second
 * use finds nothing. Issuing a new token of a purpose replaces the user's earlier ones, so only
 * the newest link works. Looking a token up (`peek`) does not use it: the page a link opens only
 * shows a form, and the POST that form sends consumes the token (mail scanners that follow links
 * change nothing).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

export type TokenPurpose = 'verify-email' | 'reset-password';

export interface TokenGrant {
  userId: number;
  email: string;
}

/** Tokens longer than this are not ours (ours are 43 characters); refused before hashing. */
const MAX_TOKEN_LENGTH = 128;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export type AccountTokenStore = ReturnType<typeof createAccountTokenStore>;

export function createAccountTokenStore(db: Kysely<Database>) {
  const find = (token: string, purpose: TokenPurpose, nowSeconds: number) =>
    db
      .selectFrom('account_tokens')
      .select(['user_id', 'email'])
      .where('token_hash', '=', hashToken(token))
      .where('purpose', '=', purpose)
      .where('expires_at', '>', nowSeconds);

  return {
    /** A new token for `userId`, replacing their earlier ones of the same purpose. */
    async issue(userId: number, purpose: TokenPurpose, email: string, ttlSeconds: number): Promise<string> {
      const token = randomBytes(32).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      await db.transaction().execute(async (trx) => {
        await trx
          .deleteFrom('account_tokens')
          .where('user_id', '=', userId)
          .where('purpose', '=', purpose)
          .execute();
        await trx
          .insertInto('account_tokens')
          .values({
            token_hash: hashToken(token),
            user_id: userId,
            purpose,
            email,
            created_at: now,
            expires_at: now + ttlSeconds,
          })
          .execute();
      });
      return token;
    },

    /** What a valid token grants, without using it; null for unknown, used or expired tokens. */
    async peek(token: string, purpose: TokenPurpose): Promise<TokenGrant | null> {
      if (token.length > MAX_TOKEN_LENGTH) return null;
      const row = await find(token, purpose, Math.floor(Date.now() / 1000)).executeTakeFirst();
      return row ? { userId: Number(row.user_id), email: row.email } : null;
    },

    /** Uses a token: deleted in the same statement that reads it, so only one caller ever gets it. */
    async consume(token: string, purpose: TokenPurpose): Promise<TokenGrant | null> {
      if (token.length > MAX_TOKEN_LENGTH) return null;
      const row = await db
        .deleteFrom('account_tokens')
        .where('token_hash', '=', hashToken(token))
        .where('purpose', '=', purpose)
        .returning(['user_id', 'email', 'expires_at'])
        .executeTakeFirst();
      if (!row || Number(row.expires_at) <= Math.floor(Date.now() / 1000)) return null;
      return { userId: Number(row.user_id), email: row.email };
    },

    /** Deletes every token of a user of one purpose (after a reset, all reset links die). */
    async revokeAll(userId: number, purpose: TokenPurpose): Promise<void> {
      await db
        .deleteFrom('account_tokens')
        .where('user_id', '=', userId)
        .where('purpose', '=', purpose)
        .execute();
    },

    async prune(nowSeconds = Math.floor(Date.now() / 1000)): Promise<void> {
      await db.deleteFrom('account_tokens').where('expires_at', '<=', nowSeconds).execute();
    },
  };
}
