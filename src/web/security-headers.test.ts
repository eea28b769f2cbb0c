import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import helmet from 'helmet';
import { computeSecurityHeaders, createCspNonces, type SecurityHeaderOptions } from './security-headers.ts';

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

test('computed once, the headers are exactly what helmet sets on each response', () => {
  const computed = computeSecurityHeaders(options);
  assert.deepEqual(computed.headers, helmetPerRequest());
  assert.match(computed.headers['strict-transport-security'] ?? '', /max-age=31536000; includeSubDomains/);
  assert.equal(computed.headers['x-frame-options'], 'DENY');
});

test("a page's CSP names its own nonces for scripts and styles; the shared one names none", () => {
  const computed = computeSecurityHeaders(options);
  const nonces = { script: 'a'.repeat(32), style: 'b'.repeat(32) };
  assert.equal(computed.cspWithNonces(nonces), helmetPerRequest(nonces)['content-security-policy']);
  assert.doesNotMatch(computed.headers['content-security-policy'] ?? '', /nonce-/);
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
