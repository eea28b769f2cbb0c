/**
 * `.env.example` and the README's configuration table name every variable `loadConfig` reads,
 * nothing else, and the defaults `.env.example` shows are the real ones.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

/** The variables `loadConfig` looks up, found by watching it read environments that take each branch. */
function variablesReadByConfig(): Set<string> {
  const names = new Set<string>();
  const watched = (values: Record<string, string>) =>
    new Proxy(values, {
      get(target, name) {
        if (typeof name === 'string') names.add(name);
        return target[name as string];
      },
    });
  loadConfig(watched({}));
  loadConfig(
    watched({
      DEBUG: 'false',
      SECRET_KEY: 'env-example-test-production-secret-0123456789',
      REDIS_URL: 'redis://127.0.0.1:6379',
      PUBLISH_API_KEY: 'a-key-long-enough-for-the-check',
      INITIAL_USERS: 'alice:secret',
    }),
  );
  return names;
}

/** `NAME=value` lines of .env.example, commented out or not. */
function exampleEntries(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of read('.env.example').split('\n')) {
    const match = /^#?\s?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1]) entries.set(match[1], match[2] ?? '');
  }
  return entries;
}

test('.env.example names every variable src/config.ts reads, and only those', () => {
  const read = variablesReadByConfig();
  const documented = new Set(exampleEntries().keys());
  assert.ok(read.size >= 25, `found the variables config reads (${read.size})`);
  assert.deepEqual(
    [...read].filter((name) => !documented.has(name)),
    [],
    'missing from .env.example',
  );
  assert.deepEqual(
    [...documented].filter((name) => !read.has(name)),
    [],
    'in .env.example but never read',
  );
});

test('the README configuration table has a row for every variable', () => {
  const rows = new Set([...read('README.md').matchAll(/^\| `([A-Z][A-Z0-9_]*)` +\|/gm)].map((m) => m[1]));
  assert.deepEqual(
    [...variablesReadByConfig()].filter((name) => !rows.has(name)),
    [],
    'missing from README',
  );
});

/** What an environment configures, but the key: without SECRET_KEY (DEBUG) it is random per run. */
function configOf(env: Record<string, string>) {
  const { secretKey: _randomWhenUnset, ...rest } = loadConfig(env);
  return rest;
}

test('every default .env.example shows is the real default', () => {
  const defaults = configOf({});
  for (const [name, value] of exampleEntries())
    assert.deepEqual(
      configOf({ [name]: value }),
      defaults,
      `${name}=${value} is what an unset ${name} means`,
    );
  assert.equal(exampleEntries().get('SECRET_KEY'), '', 'no key is suggested: it would be a published one');
});
