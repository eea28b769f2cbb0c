import type { FastifyInstance } from 'fastify';

/** Every tab `mark` has open shows the new course at once. */
export async function pushCourse(app: FastifyInstance): Promise<void> {
  await app.events.publish('mark', {
    html: { 'course-list': { content: '<li id="course-7">Linear Algebra</li>', swap: 'append' } },
  });
}
