/**
 * The OpenAPI document: valid OpenAPI 3.1, and every route the app has — enumerated from the
 * running app, not listed here — documented with a summary, tags and its answers; JSON routes
 * with JSON schemas (errors included) and examples.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startApp, testEnv } from '../support/app.ts';

/** Routes the document leaves out on purpose: files and the docs themselves. */
const UNDOCUMENTED = [/^\/static\//, /^\/docs(\/|$)/, /^\/openapi\.json$/, /^\/favicon\.ico$/, /\*/];

/** Every method + path the app answers, from Fastify's own route tree (HEAD twins left out). */
function listRoutes(app: FastifyInstance): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  const parents: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│├└─\s]*)(\S.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match?.[2]) continue;
    const depth = (match[1] ?? '').length / 4;
    const path = (depth > 0 ? (parents[depth - 1] ?? '') : '') + match[2];
    parents[depth] = path;
    for (const method of (match[3] ?? '').split(', ').filter(Boolean))
      if (method !== 'HEAD') routes.push({ method, path });
  }
  return routes;
}

interface Media {
  schema?: Record<string, unknown>;
  example?: unknown;
  examples?: unknown;
}
interface Operation {
  summary?: string;
  tags?: string[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description?: string; content?: Record<string, Media> }>;
}

const hasExample = (media: Media) =>
  media.example !== undefined ||
  media.examples !== undefined ||
  JSON.stringify(media.schema).includes('"examples"');

interface OpenApiDoc {
  openapi: string;
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation & { security?: unknown[]; parameters?: unknown[] }>>;
}

/** What is missing from the document for the app's routes; empty when every route is covered. */
function documentationProblems(app: FastifyInstance, doc: OpenApiDoc): string[] {
  const problems: string[] = [];
  const check = (ok: unknown, problem: string) => {
    if (!ok) problems.push(problem);
  };
  const tags = new Set(doc.tags.map((tag) => tag.name));
  const routes = listRoutes(app).filter((route) => !UNDOCUMENTED.some((pattern) => pattern.test(route.path)));
  for (const { method, path } of routes) {
    const where = `${method} ${path}`;
    const op = doc.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
    if (!op) {
      problems.push(`${where} is not in the document`);
      continue;
    }
    check(op.summary, `${where} has no summary`);
    check(op.tags?.length && op.tags.every((tag) => tags.has(tag)), `${where} has no declared tag`);
    const statuses = Object.keys(op.responses);
    check(!statuses.includes('default') && statuses.length > 0, `${where} does not list its answers`);
    for (const [status, answer] of Object.entries(op.responses))
      check(
        answer.description && answer.description !== 'Default Response',
        `${where} ${status} is not described`,
      );
    for (const media of Object.values(op.requestBody?.content ?? {}))
      check(media.schema, `${where} has no request body schema`);
    if (op.tags?.includes('pages')) continue;

    // A JSON route: every answer with a body has its schema, errors are {error}, and examples.
    check(
      statuses.some((s) => s.startsWith('2')),
      `${where} does not document success`,
    );
    const takesInput = op.security || op.requestBody || op.parameters;
    check(!takesInput || statuses.some((s) => s.startsWith('4')), `${where} does not document its refusals`);
    for (const [status, answer] of Object.entries(op.responses)) {
      if (status === '204' || status.startsWith('3')) continue;
      const [type, media] = Object.entries(answer.content ?? {})[0] ?? [];
      if (!media?.schema) {
        problems.push(`${where} ${status} has no schema`);
        continue;
      }
      check(hasExample(media), `${where} ${status} has no example`);
      if (status.startsWith('4') && type === 'application/json')
        check(
          JSON.stringify(media.schema.required) === '["error"]',
          `${where} ${status} does not answer {error}`,
        );
    }
  }
  return problems;
}

test('/openapi.json is valid OpenAPI 3.1 and documents every route the app has', async (t) => {
  // Every optional route present: the publish API and the metrics endpoint.
  const { app, url } = await startApp(t, {
    PUBLISH_API_KEY: 'publish-key-for-the-openapi-test',
    METRICS_API_KEY: 'metrics-key-for-the-openapi-test',
  });
  const response = await fetch(`${url}/openapi.json`);
  assert.equal(response.status, 200);
  const doc = (await response.json()) as OpenApiDoc;
  const validator = new Validator();
  assert.deepEqual(await validator.validate({ ...doc }), { valid: true });
  assert.equal(validator.version, '3.1');
  assert.ok(listRoutes(app).length >= 15, 'the app’s routes were found');
  assert.deepEqual(documentationProblems(app, doc), []);

  // Spot checks of what the document says, not only that it says something.
  const stream = doc.paths['/protected/events/{username}']?.get;
  assert.ok(stream?.responses['200']?.content?.['text/event-stream'], 'the stream is text/event-stream');
  const streamQuery = (stream?.parameters ?? []) as { name: string; in: string }[];
  assert.ok(
    streamQuery.some((p) => p.name === 'topic' && p.in === 'query'),
    'the account page’s ?topic= is documented',
  );
  assert.deepEqual(Object.keys(doc.paths['/api/sessions/{id}']?.delete?.responses ?? {}).sort(), [
    '204',
    '401',
    '403',
    '404',
  ]);
  // /metrics answers the Prometheus text format, and says so (not a JSON string).
  const metrics = await fetch(`${url}/metrics`, {
    headers: { authorization: 'Bearer metrics-key-for-the-openapi-test' },
  });
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /^# HELP /m);
  assert.deepEqual(Object.keys(doc.paths['/metrics']?.get?.responses['200']?.content ?? {}), [
    'text/plain; version=0.0.4',
  ]);
  assert.ok(metrics.headers.get('content-type')?.startsWith('text/plain; version=0.0.4'));
  const publish = doc.paths['/api/events']?.post?.requestBody?.content['application/json']?.schema;
  assert.deepEqual(publish?.required, ['to', 'message']);
  assert.deepEqual(Object.keys(doc.paths['/add_course']?.post?.requestBody?.content ?? {}).sort(), [
    'application/json',
    'application/x-www-form-urlencoded',
    'multipart/form-data',
  ]);
});

test('sign-up is documented only while it exists, and without a 404 it cannot give', async (t) => {
  const documented = async (env: Record<string, string>) => {
    const { url } = await startApp(t, env);
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as OpenApiDoc;
    const answer = await fetch(`${url}/api/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'newcomer', password: 'a long enough passphrase' }),
    });
    return { paths: Object.keys(doc.paths), api: doc.paths['/api/register']?.post, status: answer.status };
  };
  const on = await documented({ ALLOW_REGISTRATION: 'true' });
  assert.equal(on.status, 201);
  assert.ok(on.paths.includes('/register'));
  assert.deepEqual(Object.keys(on.api?.responses ?? {}).sort(), ['201', '400', '409', '429']);
  const off = await documented({ ALLOW_REGISTRATION: 'false' });
  assert.equal(off.status, 404, 'with registration off there is no route');
  assert.equal(off.api, undefined);
  assert.ok(!off.paths.includes('/register'));
});

test('a route added without documentation is caught: the list comes from the app, not from this file', async (t) => {
  const config = loadConfig(testEnv(t));
  const app = await buildApp(config);
  t.after(() => app.close());
  app.get('/api/undocumented/:id', async () => ({ ok: true }));
  app.post('/api/half-documented', { schema: { summary: 'Half', tags: ['auth'] } }, async () => ({
    ok: true,
  }));
  await app.ready();
  const problems = documentationProblems(app, app.swagger() as unknown as OpenApiDoc);
  assert.ok(problems.includes('GET /api/undocumented/:id has no summary'), problems.join('\n'));
  assert.ok(
    problems.some((p) => p.startsWith('POST /api/half-documented 200 is not described')),
    problems.join('\n'),
  );
  assert.ok(!listRoutes(app).some((route) => route.method === 'HEAD'), 'HEAD twins are left out');
});

test('API docs are off when API_DOCS=false, and on in production only with API_DOCS=true', async (t) => {
  const off = await startApp(t, { API_DOCS: 'false' });
  for (const path of ['/openapi.json', '/docs'])
    assert.equal((await fetch(`${off.url}${path}`)).status, 404, `${path} without API_DOCS`);
  const production = await startApp(t, {
    DEBUG: 'false',
    SECRET_KEY: 'openapi-test-production-secret-0123456789abcdef',
    INITIAL_USERS: '',
  });
  assert.equal((await fetch(`${production.url}/openapi.json`)).status, 404, 'production default: off');
  const opted = await startApp(t, {
    DEBUG: 'false',
    SECRET_KEY: 'openapi-test-production-secret-0123456789abcdef',
    API_DOCS: 'true',
  });
  assert.equal((await fetch(`${opted.url}/openapi.json`)).status, 200);
  const docs = await fetch(`${opted.url}/docs/`, { headers: { accept: 'text/html' } });
  assert.equal(docs.status, 200);
  assert.match(
    docs.headers.get('content-security-policy') ?? '',
    /script-src 'self'/,
    'the strict CSP applies',
  );
});
