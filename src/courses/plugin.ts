import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { currentUser } from '../auth/plugin.ts';
import { errorResponse, FORM_CONTENT_TYPES, htmlPage, redirect, SIGNED_IN } from '../web/schemas.ts';
import { createCourseRepository, MAX_COURSE_TITLE_LENGTH } from './repository.ts';

const CourseForm = Type.Object({
  course_title: Type.String({
    minLength: 1,
    maxLength: MAX_COURSE_TITLE_LENGTH,
    pattern: '\\S',
    examples: ['Linear Algebra'],
  }),
  _csrf: Type.Optional(Type.String({ description: 'The CSRF token (not needed with a bearer token)' })),
});
const CourseBody = Type.Object(
  { id: Type.Integer(), title: Type.String() },
  {
    description: 'Stored and pushed to every open stream of the user',
    examples: [{ id: 7, title: 'Linear Algebra' }],
  },
);
/** The refusals every course change shares. */
const courseErrors = {
  400: errorResponse(
    'A missing, blank or too long title',
    'Invalid request: body/course_title must NOT have fewer than 1 characters',
  ),
  401: errorResponse('No valid credential', 'Not authenticated'),
  403: errorResponse(
    'Missing or wrong CSRF token (cookie callers), or a cross-site request',
    'Invalid csrf token',
  ),
};

/** The id of the element on the protected page that holds the list; pushes target it. */
export const COURSE_LIST_ID = 'course-list';

/** The demo feature: a per-user course list that updates live in every open tab. */
export default async function coursesPlugin(app: FastifyInstance) {
  const courses = createCourseRepository(app.db);

  app.get(
    '/protected',
    {
      schema: {
        summary: 'The live page',
        description: 'Greeting, course form and list; connected to the user’s event stream.',
        tags: ['pages'],
        security: SIGNED_IN,
        response: { 200: htmlPage('The page'), 302: redirect('Anonymous: to /login?next=/protected') },
      },
      preHandler: app.requirePageUser,
    },
    async (request, reply) => {
      // `lastEventId` comes with every view (src/events/view-locals.ts), read before this
      // handler runs: an update published while the page renders is replayed, never lost.
      return reply.view('protected.njk', { courses: await courses.listForUser(currentUser(request).id) });
    },
  );

  app.post<{ Body: Static<typeof CourseForm> }>(
    '/add_course',
    {
      schema: {
        summary: 'Add a course',
        description: 'A form navigation is redirected to /protected; a fetch (`sx-post`) gets the course.',
        tags: ['courses'],
        consumes: [...FORM_CONTENT_TYPES, 'application/json'],
        security: SIGNED_IN,
        body: CourseForm,
        response: {
          201: CourseBody,
          303: redirect('A form navigation: back to /protected'),
          ...courseErrors,
        },
      },
      preHandler: [app.requireApiUser, app.csrfProtection],
    },
    async (request, reply) => {
      const user = currentUser(request);
      const course = await courses.add(user.id, request.body.course_title.trim());
      // Rendered off the reply: a page fragment for the stream, not this response's body.
      const list = (
        await app.view('partials/course-list.njk', { courses: await courses.listForUser(user.id) })
      ).trim();
      await app.events.publish(user.username, { html: { [COURSE_LIST_ID]: list } });
      // A plain form post (no JavaScript) gets the page back; fetch callers get the new course.
      if (request.headers['sec-fetch-mode'] === 'navigate') return reply.redirect('/protected', 303);
      return reply.code(201).send({ id: course.id, title: course.title });
    },
  );
}
