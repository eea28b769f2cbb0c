import type { Kysely } from 'kysely';
import { chunks, IN_LIST_CHUNK } from '../db/in-list.ts';
import type { Database } from '../db/schema.ts';

export type RevocationStore = ReturnType<typeof createRevocationStore>;

/**
 * Server-side memory of logged-out tokens: a JWT stays cryptographically valid until `exp`, so
 * logout records its id here until then. Rows expire with their tokens and are pruned.
 */
export function createRevocationStore(db: Kysely<Database>) {
  return {
    async revoke(tokenId: string, expiresAt: number): Promise<void> {
      await db
        .insertInto('revoked_tokens')
        .values({ token_id: tokenId, expires_at: expiresAt })
        .onConflict((oc) => oc.column('token_id').doNothing())
        .execute();
    },

    async isRevoked(tokenId: string): Promise<boolean> {
      const row = await db
        .selectFrom('revoked_tokens')
        .select('token_id')
        .where('token_id', '=', tokenId)
        .executeTakeFirst();
      return row !== undefined;
    },

    /** Which of `tokenIds` are revoked: one query per `IN_LIST_CHUNK` ids. */
    async findRevoked(tokenIds: readonly string[]): Promise<Set<string>> {
      const revoked = new Set<string>();
      for (const chunk of chunks(tokenIds, IN_LIST_CHUNK)) {
        const rows = await db
          .selectFrom('revoked_tokens')
          .select('token_id')
          .where('token_id', 'in', chunk)
          .execute();
        for (const row of rows) revoked.add(row.token_id);
      }
      return revoked;
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
