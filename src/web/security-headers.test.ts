import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import helmet from 'helmet';
import {
  computeSecurityHeaders,
  createCspNonces,
  RESOURCE_CSP,
  type SecurityHeaderOptions,
  securityPolicy,
} from './security-headers.ts';

const options: SecurityHeaderOptions = {
  directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], objectSrc: ["'none'"] },
  helmet: { hsts: { maxAge: 31536000, includeSubDomains: true }, frameguard: { action: 'deny' } },
};

/** What helmet's own middleware sets on one response, nonces passed per request. */
function helmetPerRequest(nonces?: { script: string; style: string }): Record<string, string> {
  const headers: Record<string, string> = {};
  const directives = nonces
    ? {
        ...options.directives,
        scriptSrc: ["'self'", `'nonce-${nonces.script}'`],
        styleSrc: ["'self'", `'nonce-${nonces.style}'`],
      }
    : options.directives;
  const response = {
    setHeader: (name: string, value: string) => {
      headers[name.toLowerCase()] = value;
    },
    removeHeader: () => {},
  } as unknown as ServerResponse;
  helmet({ ...options.helmet, contentSecurityPolicy: { directives } })(
    {} as IncomingMessage,
    response,
    () => {},
  );
  return headers;
}

test("computed once, a document's headers are exactly what helmet sets on each response", () => {
  const computed = computeSecurityHeaders(options);
  assert.deepEqual(computed.document, helmetPerRequest());
  assert.match(computed.document['strict-transport-security'] ?? '', /max-age=31536000; includeSubDomains/);
  assert.equal(computed.document['x-frame-options'], 'DENY');
});

test('a resource gets a CSP that allows nothing, nosniff, same-origin CORP, and the referrer policy and HSTS of documents', () => {
  const { document, resource } = computeSecurityHeaders(options);
  assert.equal(RESOURCE_CSP, "default-src 'none'; frame-ancestors 'none'");
  assert.deepEqual(resource, {
    'content-security-policy': RESOURCE_CSP,
    'x-content-type-options': 'nosniff',
    'cross-origin-resource-policy': 'same-origin',
    'referrer-policy': document['referrer-policy'],
    'strict-transport-security': document['strict-transport-security'],
  });
  for (const name of [
    'x-frame-options',
    'cross-origin-opener-policy',
    'origin-agent-cluster',
    'x-xss-protection',
  ])
    assert.equal(resource[name], undefined, name);
});

test("a resource's headers follow the policy: its referrer policy, HSTS only when documents have it", () => {
  const { resource } = computeSecurityHeaders({
    ...options,
    helmet: { hsts: false, frameguard: { action: 'deny' }, referrerPolicy: { policy: 'no-referrer' } },
  });
  assert.equal(resource['referrer-policy'], 'no-referrer');
  assert.equal(resource['strict-transport-security'], undefined);
  for (const debug of [true, false]) {
    const app = computeSecurityHeaders(securityPolicy(debug));
    assert.equal(app.resource['referrer-policy'], 'same-origin');
    assert.equal(app.resource['strict-transport-security'], app.document['strict-transport-security']);
    assert.equal(app.resource['strict-transport-security'] === undefined, debug, `DEBUG=${debug}: HSTS`);
  }
});

test('the resource set, the document-only headers and the document CSP make up the document set', () => {
  const { document, resource, documentOnly } = computeSecurityHeaders(securityPolicy(false));
  assert.ok(documentOnly.length > 0);
  for (const [name] of documentOnly) assert.equal(resource[name], undefined, `${name} is document-only`);
  assert.deepEqual(
    {
      ...resource,
      ...Object.fromEntries(documentOnly),
      'content-security-policy': document['content-security-policy'],
    },
    document,
  );
});

test("a page's CSP names its own nonces for scripts and styles; the document's names none", () => {
  const computed = computeSecurityHeaders(options);
  const nonces = { script: 'a'.repeat(32), style: 'b'.repeat(32) };
  assert.equal(computed.cspWithNonces(nonces), helmetPerRequest(nonces)['content-security-policy']);
  assert.doesNotMatch(computed.document['content-security-policy'] ?? '', /nonce-/);
});

test('every page gets fresh 128-bit nonces, different for scripts and styles', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const { script, style } = createCspNonces();
    assert.match(script, /^[0-9a-f]{32}$/);
    assert.match(style, /^[0-9a-f]{32}$/);
    assert.notEqual(script, style);
    seen.add(script).add(style);
  }
  assert.equal(seen.size, 200);
});

test('an invalid policy stops start-up, as helmet would', () => {
  assert.throws(() =>
    computeSecurityHeaders({ ...options, directives: { ...options.directives, scriptSrc: ['self'] } }),
  );
  assert.throws(() => computeSecurityHeaders({ ...options, directives: { defaultSrc: null } }));
});
