/**
 * `POST /api/events` — lets other services push messages to users' streams.
 *
 * Model: one shared secret (PUBLISH_API_KEY) held by trusted back-end services, sent as
 * `Authorization: Bearer <key>`. The route is only registered when the key is set, so a deploy
 * that does not use it exposes nothing. Keys are compared in constant time
 * (src/web/bearer-key.ts). The body is validated by the strict TypeBox compiler (no coercion, no
 * silent removal of unknown fields): a malformed message is a 400, never half-delivered.
 */
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createBearerKeyCheck } from '../web/bearer-key.ts';
import { SseMessageSchema } from './messages.ts';

const PublishBody = Type.Object(
  {
    to: Type.String({ minLength: 1, maxLength: 150, pattern: '^[^\\s]+$' }),
    message: SseMessageSchema,
  },
  { additionalProperties: false },
);

export default async function publishRoutes(app: FastifyInstance, opts: { apiKey: string }) {
  const hasPublishKey = createBearerKeyCheck(opts.apiKey);

  const requirePublishKey = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!hasPublishKey(request.headers.authorization))
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Invalid API key' });
  };

  app.post<{ Body: Static<typeof PublishBody> }>(
    '/api/events',
    {
      schema: { body: PublishBody },
      validatorCompiler: TypeBoxValidatorCompiler,
      // Authenticate before the body is validated: strangers learn nothing about the schema.
      onRequest: requirePublishKey,
    },
    async (request, reply) => {
      const event = await app.events.publish(request.body.to, request.body.message);
      return reply.code(202).send({ id: event.id });
    },
  );
}
