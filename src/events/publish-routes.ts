/**
 * `POST /api/events` — lets other services push messages to users' streams.
 *
 * Model: one shared secret (PUBLISH_API_KEY) held by trusted back-end services, sent as
 * `Authorization: Bearer <key>`. The route is only registered when the key is set, so a deploy
 * that does not use it exposes nothing. Keys are compared in constant time
 * (src/web/bearer-key.ts). The body is validated by the strict TypeBox compiler (no coercion, no
 * silent removal of unknown fields): a malformed message is a 400, never half-delivered.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  FastifySchemaCompiler,
} from 'fastify';
import { createBearerKeyCheck } from '../web/bearer-key.ts';
import { errorResponse } from '../web/schemas.ts';
import { SseMessageSchema } from './messages.ts';

const PublishBody = Type.Object(
  {
    to: Type.String({ minLength: 1, maxLength: 150, pattern: '^[^\\s]+$' }),
    message: SseMessageSchema,
  },
  {
    additionalProperties: false,
    examples: [
      {
        to: 'mark',
        message: { html: { toasts: { content: '<div class="toast">Hi</div>', swap: 'append' } } },
      },
    ],
  },
);

const Published = Type.Object(
  { id: Type.Integer({ description: 'The event id (what `Last-Event-ID` resumes after)' }) },
  {
    description: 'Stored and delivered to every open stream of the recipient, on every instance',
    examples: [{ id: 42 }],
  },
);

const publishSchema = {
  summary: 'Publish to users',
  description:
    'Other services push a message to one user (`to`: a username) or everyone (`to`: `*`). ' +
    'Only registered when PUBLISH_API_KEY is set.',
  tags: ['events'],
  security: [{ publishKey: [] }],
  body: PublishBody,
  response: {
    202: Published,
    400: errorResponse('Not an SSEXI message, or a bad recipient', 'Invalid message: /html must be object'),
    401: errorResponse('Missing or wrong key', 'Invalid API key'),
    413: errorResponse('Larger than a stream may buffer', 'Message is 600000 bytes; the limit is 524288'),
    503: errorResponse(
      'Redis (the event log) is away: nothing was stored; retry after Retry-After',
      'Service temporarily unavailable; try again shortly',
    ),
  },
};

/**
 * TypeBox's own checker instead of Fastify's Ajv, which silently drops the fields a schema does
 * not allow (its `removeAdditional`): the body is taken exactly as sent or refused, with the first
 * problem in Ajv's error shape (so the 400 reads like every other validation error).
 */
const strictValidator: FastifySchemaCompiler<FastifySchema> = ({ schema }) => {
  const checker = TypeCompiler.Compile(schema as TSchema);
  return (value) => {
    if (checker.Check(value)) return { value };
    const problem = checker.Errors(value).First();
    const instancePath = problem?.path ?? '';
    // "Expected string" reads as Ajv's "must be string" after the path; the rest (a pattern) as is.
    const message = problem
      ? problem.message.charAt(0).toLowerCase() + problem.message.slice(1)
      : 'is invalid';
    return { error: [{ keyword: 'type', instancePath, schemaPath: '#', params: {}, message }] };
  };
};

export default async function publishRoutes(app: FastifyInstance, opts: { apiKey: string }) {
  const hasPublishKey = createBearerKeyCheck(opts.apiKey);

  const requirePublishKey = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!hasPublishKey(request.headers.authorization))
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Invalid API key' });
  };

  app.post<{ Body: Static<typeof PublishBody> }>(
    '/api/events',
    {
      schema: publishSchema,
      validatorCompiler: strictValidator,
      // Authenticate before the body is validated: strangers learn nothing about the schema.
      onRequest: requirePublishKey,
    },
    async (request, reply) => {
      const event = await app.events.publish(request.body.to, request.body.message);
      return reply.code(202).send({ id: event.id });
    },
  );
}
