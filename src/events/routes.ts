import type { ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { SESSION_REFRESH_URL } from '../auth/api-routes.ts';
import { currentUser } from '../auth/plugin.ts';
import type { Config } from '../config.ts';
import { ServiceUnavailableError } from '../service-unavailable.ts';
import { errorResponse, SIGNED_IN } from '../web/schemas.ts';
import { type CloseReason, createSseConnection, type Stream, type StreamContext } from './connection.ts';
import { createDeadlineQueue } from './deadlines.ts';
import { formatEvent } from './format.ts';
import { createHeartbeatWheel } from './heartbeat-wheel.ts';
import type { Hub } from './hub.ts';
import type { StreamCounters } from './plugin.ts';
import { readReplay } from './replay.ts';
import { BROADCAST, type EventLog } from './types.ts';

const StreamParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 150 }) });
const StreamQuery = Type.Object({
  lastEventId: Type.Optional(
    Type.String({ maxLength: 32, description: 'Resume after this id (the `Last-Event-ID` header wins)' }),
  ),
  /**
   * A page's own channel besides the user's: `?topic=account` also carries messages published to
   * `<username>#account` (the account page's live lists), which other pages never receive.
   */
  topic: Type.Optional(
    Type.String({
      pattern: '^[a-z][a-z0-9-]{0,31}$',
      description:
        "Also receive this page's own channel: `account` carries the account page's live sessions and security activity (published to `<username>#account`)",
    }),
  ),
});

const STREAM_DESCRIPTION = `The user's Server-Sent Events. Each message is one event: \`id: <monotonic id>\` and
\`data: <one JSON object>\` in the SSEXI format — \`{"html": {"<element id>": "<html>" | {"content": "<html>",
"swap": "inner|outer|append|prepend|before|after|remove|morph"}}, "js": {"exec": "<code>", "<name>": <value>}}\`
(the schema is the \`message\` of \`POST /api/events\`).

Resume: send \`Last-Event-ID\` (or \`?lastEventId=\`) and every message after that id is replayed in
order, then the stream goes live. Control events: \`event: auth\` (\`{"reason": "logout|logout-all|expired|revoked|removed|password-changed",
"redirect": "/login"}\`) ends the stream when its session ends; \`event: reload\` (\`{"reason": "replay-gap|log-reset"}\`)
when the missed messages are no longer kept or the id is from a log that no longer exists; \`event: renew\` (\`{"url": "/api/session/refresh"}\`) once the
session is past half its life, so a page that only holds a stream can renew it (SSEXI.js posts to the URL).
\`retry:\` is sent on open and a comment line every SSE_HEARTBEAT_SECONDS.`;

const streamSchema = {
  summary: 'The event stream',
  description: STREAM_DESCRIPTION,
  tags: ['events'],
  security: SIGNED_IN,
  params: StreamParams,
  querystring: StreamQuery,
  headers: Type.Object({
    'last-event-id': Type.Optional(Type.String({ description: 'Resume after this id' })),
  }),
  response: {
    200: {
      description: 'The stream (never compressed or cached)',
      headers: {
        'cache-control': { type: 'string', description: '`no-cache, no-transform`' },
        'x-accel-buffering': { type: 'string', description: '`no`: proxies pass events through at once' },
      },
      content: {
        'text/event-stream': {
          schema: {
            type: 'string',
            examples: [
              'retry: 2000\n\nid: 42\ndata: {"html":{"course-list":{"content":"<li>…</li>","swap":"append"}}}\n\n',
            ],
          },
        },
      },
    },
    401: errorResponse('No valid credential', 'Not authenticated'),
    403: errorResponse('`username` is not the caller', 'Forbidden'),
    429: errorResponse('Too many open streams for this user (see Retry-After)', 'Too many open streams'),
    503: errorResponse(
      'This instance cannot follow the event bus right now (Redis away): retry after Retry-After',
      'Service temporarily unavailable; try again shortly',
    ),
  },
};

/** Headers every proxy and CDN understands as "stream this, do not buffer, transform or cache". */
const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

/** Messages a resume reads per query (see `readReplay`). */
const REPLAY_BATCH_SIZE = 50;

/** `Last-Event-ID` header or `?lastEventId=`; anything that is not a non-negative integer means "from now". */
export function parseLastEventId(header: unknown, query: unknown): number | null {
  const raw = typeof header === 'string' && header !== '' ? header : query;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) return null;
  return Number(raw);
}

/**
 * Fastify keeps a `finish` and an `error` listener on every response, to run `onResponse` hooks
 * and log "request completed" when it ends; on a stream that listener holds the request, reply
 * and logger for the stream's whole life (~0.6 KiB of the heap per stream). A stream logs its own
 * end ("stream closed", with its duration and why) and has its own counters (`sse_streams_*`), so
 * it lets go of them: streams are not in the request-duration histogram, whose buckets are for
 * answers, not for connections that last hours. An error the response may still emit is ignored
 * (the socket's `close` ends the stream) rather than left with no listener.
 */
function releaseFastifyReply(res: ServerResponse): void {
  for (const event of ['finish', 'error'] as const)
    for (const listener of res.listeners(event))
      if (listener.name === 'onResFinished') res.removeListener(event, listener as () => void);
  res.on('error', ignoreResponseError);
}

function ignoreResponseError(): void {}

/** Names this process in stream log lines, so lines from many instances can be told apart. */
const INSTANCE = `${hostname()}:${process.pid}`;

export default async function streamRoutes(
  app: FastifyInstance,
  opts: { config: Config; hub: Hub; log: EventLog; counters: StreamCounters; available: () => boolean },
) {
  const { config, hub, log, counters } = opts;
  // Every stream's heartbeats, renewal prompts and expiry run off two timers in all, not two per
  // stream, and one close handler serves them all: a stream carries only its own facts.
  const streams: StreamContext = {
    maxBufferedBytes: config.sseMaxBufferedBytes,
    maxPending: config.sseReplayLimit,
    heartbeats: createHeartbeatWheel<Stream>(config.sseHeartbeatSeconds * 1000, (stream) =>
      stream.heartbeat(),
    ),
    deadlines: createDeadlineQueue<Stream>((stream) => stream.schedule()),
    onClose(connection, reason: CloseReason) {
      hub.remove(connection);
      counters.closed.inc({ reason });
      const stream = connection as Stream;
      const durationMs = Date.now() - stream.openedAt;
      stream.log.info({ user: stream.username, instance: INSTANCE, durationMs, reason }, 'stream closed');
    },
  };
  app.addHook('onClose', async () => {
    streams.heartbeats.close();
    streams.deadlines.close();
  });

  app.get<{ Params: Static<typeof StreamParams>; Querystring: Static<typeof StreamQuery> }>(
    '/protected/events/:username',
    { schema: streamSchema, preHandler: app.requireApiUser },
    async (request, reply) => {
      const user = currentUser(request);
      if (request.params.username !== user.username) return reply.code(403).send({ error: 'Forbidden' });
      if (hub.countFor(user.username) >= config.sseMaxStreamsPerUser) {
        return reply.code(429).header('retry-after', '10').send({ error: 'Too many open streams' });
      }
      // Without its bus this instance would miss live messages: the client retries (another
      // instance, or this one once Redis is back) and resumes from its last id.
      if (!opts.available()) throw new ServiceUnavailableError('redis', { retryAfterSeconds: 2 });
      // HEAD (which Fastify routes here too) asks what a GET would answer: say so and end, rather
      // than open a stream nobody reads that holds one of the user's slots until the client leaves.
      if (request.method === 'HEAD') return reply.code(200).headers(SSE_HEADERS).send();
      const requested = parseLastEventId(request.headers['last-event-id'], request.query.lastEventId);
      const topic = request.query.topic === undefined ? null : `${user.username}#${request.query.topic}`;

      reply.hijack();
      const res = reply.raw;
      releaseFastifyReply(res);
      res.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), ...SSE_HEADERS });
      res.write(formatEvent({ retry: config.sseRetryMs }));
      const connection = createSseConnection(
        res,
        {
          username: user.username,
          tokenId: user.tokenId,
          topic,
          lastId: requested ?? 0,
          // The stream follows the session: renewals extend it (hub.renewSession), and it prompts
          // the page to renew before the token runs out.
          expiresAtMs: user.expiresAt * 1000,
          renewal: {
            lifetimeMs: app.auth.tokenLifetimeSeconds * 1000,
            capMs: user.session.absoluteExpiresAt * 1000,
            url: SESSION_REFRESH_URL,
          },
          log: request.log,
        },
        streams,
      );
      counters.opened.inc();
      request.log.info({ user: user.username, instance: INSTANCE, lastEventId: requested }, 'stream opened');
      // Join the hub first, then read history: anything published meanwhile is queued and
      // de-duplicated by id, so the replay→live hand-over has no gap and no repeat.
      hub.add(connection);
      if (requested === null) return connection.goLive([]);
      try {
        const recipients = topic === null ? [user.username, BROADCAST] : [user.username, topic, BROADCAST];
        const plan = await readReplay(log, recipients, requested, {
          maxMessages: config.sseReplayLimit,
          maxBytes: config.sseReplayMaxBytes,
          batchSize: REPLAY_BATCH_SIZE,
        });
        if (plan.kind === 'reload') {
          counters.reloads.inc({ reason: plan.reason });
          connection.end('reload', { reason: plan.reason });
        } else {
          counters.replayed.inc({}, plan.events.length);
          connection.goLive(plan.events);
        }
      } catch (err) {
        // The client retries and resumes from the same id; a dependency away is no bug.
        if (err instanceof ServiceUnavailableError)
          request.log.warn({ err }, 'replay failed: dependency unavailable');
        else request.log.error({ err }, 'replay failed');
        void connection.close();
      }
    },
  );
}
