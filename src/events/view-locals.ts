import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isNavigation } from '../web/forms.ts';

/**
 * Gives every view of a signed-in user `lastEventId`, so a live page written with
 * `sx-last-id="{{ lastEventId }}"` resumes its stream without loss and no handler has to pass it.
 *
 * The id is the newest one this instance knows of, which the events backend keeps in memory
 * (`newestKnownId`): a page costs no read of the log and never waits on it, nor fails with it.
 * Why that is safe: the id is snapshotted here, in a preHandler — before the handler reads the
 * page's data — and a message becomes known only once it is committed. So the snapshot is never
 * newer than the data: a message committed in between is both in the page and replayed to its
 * stream (applied twice, which SSEXI's swaps tolerate), never lost. Lagging the log (a message
 * from another instance still on its way, Redis away) only replays more. And when Redis comes
 * back empty the value moves to the new log (redis-backend.ts): pages do not go on handing out
 * an id of a log that is gone, which their streams would answer with a reload, again and again.
 *
 * With the log in Redis, a feature's transaction stores its message just before the database
 * commits its rows (Events.transaction): a page rendered in that instant shows the old rows with
 * the new id, and a reload shows the truth.
 *
 * A snapshot, not a view getter read at render: rendering comes after the handler's reads.
 */
export function registerLastEventIdLocal(app: FastifyInstance, newestKnownId: () => number): void {
  // Callback style: most requests (anonymous, API, streams, files) pass without a promise.
  app.addHook('preHandler', (request, reply, done) => {
    // A form post answered with its page again (a refused field) is a page too.
    const isPage =
      request.user !== null &&
      (request.method === 'GET' || request.method === 'HEAD' ? mayBePage(request) : isNavigation(request));
    if (isPage) reply.locals.lastEventId = String(newestKnownId());
    done();
  });
}

/** Could the answer be a page? (Not the API, not a stream, not a client asking for JSON only.) */
function mayBePage(request: FastifyRequest): boolean {
  // Static files are never pages: a signed-in browser fetching its CSS and scripts needs no id.
  if (request.url.startsWith('/api/') || request.url.startsWith('/static/')) return false;
  const accept = request.headers.accept ?? '*/*';
  return accept.includes('text/html') || accept.includes('*/*');
}
