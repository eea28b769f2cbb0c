import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../db/connect.ts';
import type { Database } from '../db/schema.ts';

export interface Course {
  id: number;
  title: string;
  created_at: number;
}

export const MAX_COURSE_TITLE_LENGTH = 200;

export type CourseRepository = ReturnType<typeof createCourseRepository>;

/**
 * A user's courses. Every query names the owner, so another user's course id is simply not
 * found. Pass a transaction as `db` to make the writes part of it (see `app.events.transaction`).
 */
export function createCourseRepository(db: Kysely<Database>, dialect: Dialect) {
  return {
    async listForUser(userId: number): Promise<Course[]> {
      return db
        .selectFrom('courses')
        .select(['id', 'title', 'created_at'])
        .where('user_id', '=', userId)
        .orderBy('id')
        .execute();
    },

    /**
     * Adds a course unless the user already has `max`; null then. Within a transaction the count
     * and the insert are one step: on PostgreSQL the user's row is locked first, so two requests
     * racing at the cap cannot both pass it; SQLite runs one writing transaction at a time.
     */
    async add(userId: number, title: string, max: number): Promise<Course | null> {
      if (dialect === 'postgres') await sql`select 1 from users where id = ${userId} for update`.execute(db);
      const { count } = await db
        .selectFrom('courses')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      if (Number(count) >= max) return null;
      const created_at = Date.now();
      const row = await db
        .insertInto('courses')
        .values({ user_id: userId, title, created_at })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { id: Number(row.id), title, created_at };
    },

    /** The renamed course, or null when the user has no course with this id. */
    async rename(userId: number, courseId: number, title: string): Promise<Course | null> {
      const row = await db
        .updateTable('courses')
        .set({ title })
        .where('id', '=', courseId)
        .where('user_id', '=', userId)
        .returning(['id', 'title', 'created_at'])
        .executeTakeFirst();
      return row ? { id: Number(row.id), title: row.title, created_at: Number(row.created_at) } : null;
    },

    /** True when the user had a course with this id (now gone). */
    async remove(userId: number, courseId: number): Promise<boolean> {
      const result = await db
        .deleteFrom('courses')
        .where('id', '=', courseId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
