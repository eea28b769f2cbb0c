import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isNavigation } from '../web/forms.ts';

/** How long a page waits for the newest event id before it renders without one. */
const LATEST_ID_WAIT_MS = 1000;

/**
 * Gives every view of a signed-in user `lastEventId`, so a live page written with
 * `sx-last-id="{{ lastEventId }}"` resumes its stream without loss and no handler has to pass it.
 *
 * The id must be read *before* the handler reads the page's data (an update published in between
 * is then replayed, at worst applied twice, never lost), yet templates render synchronously and
 * most pages never ask for it. So for signed-in GETs that may be pages, and form navigations
 * (which may answer with their page again), the read starts when the request reaches its
 * handler, without being awaited; the view gets a placeholder, and only a page whose HTML
 * contains it waits for the id (already in flight, usually already there). If the log cannot
 * answer in time the page renders with an empty id — its stream then starts from "now" — rather
 * than failing or hanging.
 */
export function registerLastEventIdLocal(app: FastifyInstance, latestId: () => Promise<number>): void {
  const placeholder = `sx-last-event-id-${randomUUID()}`;
  const pending = new WeakMap<FastifyRequest, Promise<string>>();

  // Callback style: most requests (anonymous, API, streams, files) pass without a promise.
  app.addHook('preHandler', (request, reply, done) => {
    // A form post answered with its page again (a refused field) is a page too.
    const read =
      request.user !== null &&
      (request.method === 'GET' || request.method === 'HEAD' ? mayBePage(request) : isNavigation(request));
    if (read) {
      pending.set(
        request,
        settleWithin(latestId(), LATEST_ID_WAIT_MS).then(
          (id) => (id === null ? '' : String(id)),
          (err: unknown) => {
            request.log.warn({ err }, 'could not read the newest event id; the page renders without one');
            return '';
          },
        ),
      );
      reply.locals.lastEventId = placeholder;
    }
    done();
  });

  app.addHook('onSend', (request, _reply, payload, done) => {
    const id = pending.get(request);
    if (id === undefined || typeof payload !== 'string' || !payload.includes(placeholder))
      return done(null, payload);
    id.then((value) => done(null, payload.replaceAll(placeholder, value)), done);
  });
}

/** Could the answer be a page? (Not the API, not a stream, not a client asking for JSON only.) */
function mayBePage(request: FastifyRequest): boolean {
  // Static files are never pages: a signed-in browser fetching its CSS and scripts must not cost
  // a read of the log each.
  if (request.url.startsWith('/api/') || request.url.startsWith('/static/')) return false;
  const accept = request.headers.accept ?? '*/*';
  return accept.includes('text/html') || accept.includes('*/*');
}

/** The promise's value, or null when it takes longer than `ms` (a rejection still rejects). */
function settleWithin<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(resolve, ms, null);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
