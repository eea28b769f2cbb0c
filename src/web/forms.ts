/**
 * Form bodies and CSRF tokens.
 *
 * Bodies: every form route accepts `application/x-www-form-urlencoded` (what a plain form sends)
 * and `multipart/form-data` (what `new FormData(form)` sends — the original SSEXI.js always posts
 * that way). Multipart is fields only: a file part is refused with 413, and fields, names and
 * values are bounded like the urlencoded body (`bodyLimit`); a body the parser cannot read is a
 * 400. A route that wants files would opt in with its own limits.
 *
 * CSRF: the token (`_csrf` field in either encoding, or the `x-csrf-token` header SSEXI.js sends)
 * protects requests authenticated by the session *cookie*, which the browser attaches on its own
 * to requests another site makes it send. A request carrying `Authorization: Bearer` needs none:
 * that header is never attached by the browser, a page on another site cannot set it without a
 * CORS preflight we never answer, and such a request is authenticated by that header only — the
 * cookie is ignored whenever the header is present (`readToken`). So a bearer request cannot be
 * forged, and asking API clients for a token bound to a cookie they do not have would only lock
 * them out.
 */
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

/** Multipart bounds: forms here have a handful of short fields (16 KiB each at most). */
const MULTIPART_LIMITS = {
  fields: 50,
  fieldNameSize: 100,
  fieldSize: 16 * 1024,
  files: 0,
  parts: 60,
} as const;

/** A multipart form past its bounds: a file part, a field value or name cut at its limit. */
export class FormTooLargeError extends Error {
  readonly statusCode = 413;
  readonly code = 'FORM_TOO_LARGE';
  constructor(what: string) {
    super(`Form too large: ${what}`);
    this.name = 'FormTooLargeError';
  }
}

/** A multipart body the parser cannot read: no boundary, cut short, a malformed part header. */
export class MalformedFormError extends Error {
  readonly statusCode = 400;
  readonly code = 'MALFORMED_FORM';
  constructor() {
    super('Malformed multipart body');
    this.name = 'MalformedFormError';
  }
}

async function readMultipartFields(request: FastifyRequest): Promise<Record<string, string | string[]>> {
  const body: Record<string, string | string[]> = {};
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') throw new FormTooLargeError('files are not accepted here');
      if (part.valueTruncated || part.fieldnameTruncated)
        throw new FormTooLargeError(`field ${part.fieldname}`);
      const value = String(part.value);
      const seen = body[part.fieldname];
      body[part.fieldname] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
    }
  } catch (error) {
    // The parser (busboy) reports a body it cannot read with a plain Error and no status: that
    // is the client's fault, not a 500 logged with a stack for anyone to trigger at will.
    if (typeof (error as { statusCode?: unknown }).statusCode === 'number') throw error;
    throw new MalformedFormError();
  }
  return body;
}

/** Registers both body parsers and `app.csrfProtection`, which lets bearer requests through. */
export async function registerForms(app: FastifyInstance, opts: { secure: boolean }): Promise<void> {
  await app.register(formbody);
  await app.register(multipart, { limits: MULTIPART_LIMITS });
  // Fields become `request.body` before validation, as urlencoded ones do. (Not the plugin's
  // attachFieldsToBody: it passes a value cut at fieldSize on as if whole, and reads files.)
  // Callback style: requests without a multipart body (nearly all) pass without a promise.
  app.addHook('preValidation', (request, _reply, done) => {
    if (!request.isMultipart()) return done();
    readMultipartFields(request).then((body) => {
      request.body = body;
      done();
    }, done);
  });
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: '_csrf',
    cookieOpts: { signed: true, httpOnly: true, sameSite: 'lax', path: '/', secure: opts.secure },
  });
  // Routes take `app.csrfProtection` as their preHandler; replacing it before any route is
  // registered gives every route, present and future, the same rule.
  const verifyToken = app.csrfProtection;
  app.csrfProtection = function csrfUnlessBearer(
    this: FastifyInstance,
    request: FastifyRequest,
    reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ) {
    if (isBearerRequest(request)) return done();
    return verifyToken.call(this, request, reply, done);
  };
}

/** True when the request authenticates with `Authorization` (and therefore not with the cookie). */
export function isBearerRequest(request: FastifyRequest): boolean {
  return request.headers.authorization !== undefined;
}

/**
 * A plain form post (the browser navigates) rather than a fetch (SSEXI.js's `sx-post`, a script):
 * it gets a page or a redirect, not JSON. Browsers say which by `Sec-Fetch-Mode`; without it, an
 * `Accept` that asks for HTML decides.
 */
export function isNavigation(request: FastifyRequest): boolean {
  if (request.headers['sx-request'] !== undefined) return false;
  const mode = request.headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  return (request.headers.accept ?? '').includes('text/html');
}
