import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';

const Status = (value: string, description: string) =>
  Type.Object({ status: Type.Literal(value) }, { description, examples: [{ status: value }] });

/** Liveness (the process answers) and readiness (its database answers) for load balancers. */
export default async function healthRoutes(app: FastifyInstance) {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness',
        description: 'The process answers. Does not touch the database or Redis.',
        tags: ['health'],
        response: { 200: Status('ok', 'Alive') },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  const readySchema = {
    summary: 'Readiness',
    description: 'The database answers: send traffic here.',
    tags: ['health'],
    response: { 200: Status('ready', 'Ready'), 503: Status('unavailable', 'The database does not answer') },
  };
  app.get('/readyz', { schema: readySchema }, async (_request, reply) => {
    try {
      await sql`select 1`.execute(app.db);
      return { status: 'ready' as const };
    } catch (err) {
      app.log.warn({ err }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable' as const });
    }
  });
}
