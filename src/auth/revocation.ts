import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

export type RevocationStore = ReturnType<typeof createRevocationStore>;

/**
 * Logouts recorded before session rows existed (migration 005): a token listed here is never
 * adopted (src/auth/session-rules.ts `mayAdopt`). Nothing new is written; rows go with their tokens.
 */
export function createRevocationStore(db: Kysely<Database>) {
  return {
    async isRevoked(tokenId: string): Promise<boolean> {
      const row = await db
        .selectFrom('revoked_tokens')
        .select('token_id')
        .where('token_id', '=', tokenId)
        .executeTakeFirst();
      return row !== undefined;
    },

    /** Deletes rows whose tokens have expired anyway. */
    async prune(nowSeconds = Math.floor(Date.now() / 1000)): Promise<number> {
      const result = await db
        .deleteFrom('revoked_tokens')
        .where('expires_at', '<', nowSeconds)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
