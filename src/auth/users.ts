import type { Kysely } from 'kysely';
import { chunks, IN_LIST_CHUNK } from '../db/in-list.ts';
import type { Database } from '../db/schema.ts';

export interface User {
  id: number;
  username: string;
  hashed_password: string;
  tokens_valid_after: number;
  email: string | null;
  email_verified_at: number | null;
}

/** Names usable in URLs (`/protected/events/:username`) without escaping. Enforced for new users. */
export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export function isValidUsername(username: string): boolean {
  return USERNAME_PATTERN.test(username);
}

export type UserRepository = ReturnType<typeof createUserRepository>;

export function createUserRepository(db: Kysely<Database>) {
  return {
    async findByUsername(username: string): Promise<User | null> {
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('username', '=', username)
        .executeTakeFirst();
      if (!row) return null;
      const verified = row.email_verified_at;
      return {
        ...row,
        tokens_valid_after: Number(row.tokens_valid_after),
        email_verified_at: verified === null ? null : Number(verified),
      };
    },

    /**
     * The token-relevant columns of every listed user that exists, by username: one query per
     * `IN_LIST_CHUNK` names, so re-checking many open streams stays a bounded number of queries.
     */
    async findSessionFactsByUsernames(
      usernames: readonly string[],
    ): Promise<Map<string, Pick<User, 'id' | 'username' | 'tokens_valid_after'>>> {
      const found = new Map<string, Pick<User, 'id' | 'username' | 'tokens_valid_after'>>();
      for (const chunk of chunks(usernames, IN_LIST_CHUNK)) {
        const rows = await db
          .selectFrom('users')
          .select(['id', 'username', 'tokens_valid_after'])
          .where('username', 'in', chunk)
          .execute();
        for (const row of rows)
          found.set(row.username, { ...row, tokens_valid_after: Number(row.tokens_valid_after) });
      }
      return found;
    },

    async list(): Promise<Pick<User, 'id' | 'username'>[]> {
      return db.selectFrom('users').select(['id', 'username']).orderBy('id').execute();
    },

    /**
     * Inserts a user; returns false (changing nothing) when the name is taken. Tokens carry only
     * the username, so a new account starts its token history now: an unexpired token of a
     * removed account with the same name must not open the new one.
     */
    async create(
      username: string,
      hashedPassword: string,
      nowSeconds = Math.floor(Date.now() / 1000),
    ): Promise<boolean> {
      const result = await db
        .insertInto('users')
        .values({ username, hashed_password: hashedPassword, tokens_valid_after: nowSeconds })
        .onConflict((oc) => oc.column('username').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    async setPassword(username: string, hashedPassword: string): Promise<boolean> {
      const result = await db
        .updateTable('users')
        .set({ hashed_password: hashedPassword })
        .where('username', '=', username)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async remove(username: string): Promise<boolean> {
      const result = await db.deleteFrom('users').where('username', '=', username).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** Invalidates every token issued to `username` up to now ("log out everywhere"). */
    async invalidateTokens(username: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<boolean> {
      const result = await db
        .updateTable('users')
        .set({ tokens_valid_after: nowSeconds })
        .where('username', '=', username)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}
