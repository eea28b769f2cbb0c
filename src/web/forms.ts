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

import { Busboy, type BusboyHeaders } from '@fastify/busboy';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
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

type FormFields = Record<string, string | string[]>;

/**
 * The fields of a `multipart/form-data` body, as `request.body` (a repeated name gives an array,
 * as urlencoded does), read with busboy as the body streams in. Past a bound — a file part, a
 * field or name cut at its limit, too many parts or fields, more bytes than the route's
 * `bodyLimit` — the request is refused with 413 and the rest of the body left unread; a body
 * busboy cannot read is a 400.
 *
 * busboy directly rather than @fastify/multipart: that plugin adds an async `onRequest` and
 * `onResponse` hook to *every* request of the app (a promise each, and a `close` listener that
 * keeps each SSE stream's request and reply alive), to clean up temporary files we never write.
 */
export function parseMultipartFields(
  request: FastifyRequest,
  payload: NodeJS.ReadableStream,
  done: (error: Error | null, body?: FormFields) => void,
): void {
  let parser: ReturnType<typeof Busboy>;
  try {
    parser = Busboy({ headers: request.headers as BusboyHeaders, limits: MULTIPART_LIMITS });
  } catch {
    // No or a malformed boundary.
    done(new MalformedFormError());
    return;
  }
  const fields = new Map<string, string | string[]>();
  const bodyLimit = request.routeOptions.bodyLimit ?? Number.POSITIVE_INFINITY;
  let received = 0;
  let settled = false;
  const settle = (error: Error | null) => {
    if (settled) return;
    settled = true;
    payload.removeListener('data', count);
    if (error === null) {
      // fromEntries defines own properties: a field named `__proto__` stays a plain field.
      done(null, Object.fromEntries(fields));
      return;
    }
    payload.unpipe(parser);
    done(error);
  };
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received > bodyLimit) settle(new FormTooLargeError('body'));
  };
  parser.on('field', (name, value, nameTruncated, valueTruncated) => {
    if (nameTruncated || valueTruncated) return settle(new FormTooLargeError(`field ${name}`));
    const seen = fields.get(name);
    fields.set(name, seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value]);
  });
  parser.on('file', (_name, stream) => {
    stream.resume();
    settle(new FormTooLargeError('files are not accepted here'));
  });
  parser.on('filesLimit', () => settle(new FormTooLargeError('files are not accepted here')));
  parser.on('fieldsLimit', () => settle(new FormTooLargeError('too many fields')));
  parser.on('partsLimit', () => settle(new FormTooLargeError('too many parts')));
  // busboy reports a body it cannot read (cut short, a bad part header) with a plain Error: the
  // client's fault, not a 500 logged with a stack for anyone to trigger at will.
  parser.on('error', () => settle(new MalformedFormError()));
  parser.on('finish', () => settle(null));
  payload.on('data', count);
  payload.pipe(parser);
}

/** Registers both body parsers and `app.csrfProtection`, which lets bearer requests through. */
export async function registerForms(app: FastifyInstance, opts: { secure: boolean }): Promise<void> {
  await app.register(formbody);
  app.addContentTypeParser('multipart/form-data', parseMultipartFields);
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
