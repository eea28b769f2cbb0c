import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

export interface Course {
  id: number;
  title: string;
  created_at: number;
}

export const MAX_COURSE_TITLE_LENGTH = 200;

export type CourseRepository = ReturnType<typeof createCourseRepository>;

export function createCourseRepository(db: Kysely<Database>) {
  return {
    async listForUser(userId: number): Promise<Course[]> {
      return db
        .selectFrom('courses')
        .select(['id', 'title', 'created_at'])
        .where('user_id', '=', userId)
        .orderBy('id')
        .execute();
    },

    async add(userId: number, title: string): Promise<Course> {
      const created_at = Date.now();
      const row = await db
        .insertInto('courses')
        .values({ user_id: userId, title, created_at })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { id: Number(row.id), title, created_at };
    },
  };
}
