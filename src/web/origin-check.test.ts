import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAllowedOrigin, type RequestOriginFacts } from './origin-check.ts';

const post = (facts: Partial<RequestOriginFacts>): RequestOriginFacts => ({
  method: 'POST',
  host: 'app.example:8080',
  origin: undefined,
  secFetchSite: undefined,
  hasAuthorization: false,
  ...facts,
});

test('lets safe methods through whatever their origin', () => {
  for (const method of ['GET', 'HEAD', 'OPTIONS'])
    assert.equal(
      isAllowedOrigin(post({ method, secFetchSite: 'cross-site', origin: 'https://evil.example' })),
      true,
    );
});

test('trusts Sec-Fetch-Site: only same-origin and user-initiated (none) pass', () => {
  assert.equal(isAllowedOrigin(post({ secFetchSite: 'same-origin' })), true);
  assert.equal(isAllowedOrigin(post({ secFetchSite: 'none' })), true);
  assert.equal(isAllowedOrigin(post({ secFetchSite: 'same-site' })), false);
  assert.equal(isAllowedOrigin(post({ secFetchSite: 'cross-site' })), false);
  // A same-origin Origin header does not rescue a cross-site fetch metadata value.
  assert.equal(
    isAllowedOrigin(post({ secFetchSite: 'cross-site', origin: 'http://app.example:8080' })),
    false,
  );
});

test('falls back to comparing the Origin host with Host', () => {
  assert.equal(isAllowedOrigin(post({ origin: 'http://app.example:8080' })), true);
  assert.equal(isAllowedOrigin(post({ origin: 'https://APP.example:8080' })), true);
  assert.equal(isAllowedOrigin(post({ origin: 'http://app.example:8081' })), false);
  assert.equal(isAllowedOrigin(post({ origin: 'http://evil.example' })), false);
  assert.equal(isAllowedOrigin(post({ origin: 'null' })), false);
  assert.equal(isAllowedOrigin(post({ origin: 'http://app.example:8080', host: undefined })), false);
});

test('passes requests with no browser provenance headers (the form token still applies)', () => {
  assert.equal(isAllowedOrigin(post({})), true);
});

test('exempts requests that authenticate with an Authorization header', () => {
  assert.equal(isAllowedOrigin(post({ hasAuthorization: true, secFetchSite: 'cross-site' })), true);
});
