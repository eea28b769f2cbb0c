import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../support/process.ts';

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile → instructions, with line continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** Instructions per build stage (each FROM starts one). */
function stages(instructions: Instruction[]): Instruction[][] {
  const result: Instruction[][] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') result.push([]);
    result[result.length - 1]?.push(instruction);
  }
  return result;
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const all = stages(dockerfile);
const runtime = all[all.length - 1] ?? [];

test('the Dockerfile is multi-stage on Node 24 slim', () => {
  assert.ok(all.length >= 2, 'a build stage and a runtime stage');
  for (const stage of all) assert.match(stage[0]?.args ?? '', /^node:24(\.[\d.]+)?-slim\b/);
});

test('the runtime stage installs production dependencies only, with npm ci', () => {
  const installs = runtime.filter((i) => i.keyword === 'RUN' && /\bnpm (ci|install)\b/.test(i.args));
  assert.equal(installs.length, 1);
  assert.match(installs[0]?.args ?? '', /\bnpm ci\b.*--omit=dev/);
});

test('the server runs as a non-root user, started in exec form so SIGTERM reaches it', () => {
  const users = runtime.filter((i) => i.keyword === 'USER');
  assert.ok(users.length > 0, 'a USER instruction');
  assert.doesNotMatch(users[users.length - 1]?.args ?? '', /^(root|0)(:|$)/);
  const userAt = runtime.lastIndexOf(users[users.length - 1] as Instruction);
  const cmd = runtime.filter((i) => i.keyword === 'CMD').at(-1);
  assert.ok(cmd && runtime.indexOf(cmd) > userAt, 'CMD after USER');
  const argv = JSON.parse(cmd.args) as string[];
  assert.deepEqual(argv, ['node', 'src/server.ts'], 'exec form, node itself as PID 1 (no shell, no npm)');
  assert.equal(
    runtime.some((i) => i.keyword === 'ENTRYPOINT'),
    false,
  );
});

test('the image checks its health on /healthz', () => {
  const check = runtime.find((i) => i.keyword === 'HEALTHCHECK');
  assert.ok(check, 'HEALTHCHECK');
  assert.match(check.args, /\bCMD\b.*\/healthz/);
});

test('everything the Dockerfile copies exists and is not excluded by .dockerignore', () => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  for (const copy of dockerfile.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))) {
    const sources = copy.args.split(/\s+/).slice(0, -1);
    for (const source of sources) {
      assert.ok(existsSync(join(ROOT, source)), `${source} exists`);
      assert.ok(!ignored.includes(source), `${source} is not in .dockerignore`);
    }
  }
});

test('compose.yaml runs two app replicas behind nginx, with PostgreSQL and a persistent Redis', () => {
  const compose = readFileSync(join(ROOT, 'compose.yaml'), 'utf8');
  for (const service of ['app', 'postgres', 'redis', 'nginx'])
    assert.match(compose, new RegExp(`^  ${service}:$`, 'm'));
  assert.match(compose, /replicas: 2/);
  assert.match(compose, /--appendonly", "yes"/, 'Redis persistence on');
  assert.match(compose, /\.\/deploy\/nginx\.conf:\/etc\/nginx\/nginx\.conf/);
  for (const shared of ['SECRET_KEY', 'DATABASE_URL', 'REDIS_URL', 'REDIS_KEY_PREFIX'])
    assert.match(compose, new RegExp(`^  ${shared}: `, 'm'), `${shared} shared by every replica`);
});
