import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

/**
 * The `users.email` columns (migration 009). Anyone may type any address, so an unverified one
 * may be on several accounts; a verified one is on one account only (a partial unique index), and
 * it is what a password reset goes by.
 */
export function createUserEmails(db: Kysely<Database>) {
  return {
    /** Sets a new, unverified address (lower-cased by the caller). */
    async set(userId: number, email: string): Promise<void> {
      await db
        .updateTable('users')
        .set({ email, email_verified_at: null })
        .where('id', '=', userId)
        .execute();
    },

    /**
     * Marks `email` verified on `userId` if it is still that account's address. `'taken'` when
     * another account verified it first; `'changed'` when the account has another address now.
     */
    async markVerified(userId: number, email: string): Promise<{ username: string } | 'taken' | 'changed'> {
      const owner = await db
        .selectFrom('users')
        .select('id')
        .where('email', '=', email)
        .where('email_verified_at', 'is not', null)
        .where('id', '!=', userId)
        .executeTakeFirst();
      if (owner) return 'taken';
      try {
        const row = await db
          .updateTable('users')
          .set({ email_verified_at: Math.floor(Date.now() / 1000) })
          .where('id', '=', userId)
          .where('email', '=', email)
          .returning('username')
          .executeTakeFirst();
        return row ? { username: row.username } : 'changed';
      } catch (error) {
        // Another account verified it between the check and the update: the unique index said no.
        if (await this.findByVerifiedEmail(email)) return 'taken';
        throw error;
      }
    },

    async findByVerifiedEmail(email: string): Promise<{ id: number; username: string } | null> {
      const row = await db
        .selectFrom('users')
        .select(['id', 'username'])
        .where('email', '=', email)
        .where('email_verified_at', 'is not', null)
        .executeTakeFirst();
      return row ? { id: Number(row.id), username: row.username } : null;
    },
  };
}
