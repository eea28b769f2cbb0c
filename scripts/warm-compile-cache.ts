/**
 * Fills Node's compile cache (NODE_COMPILE_CACHE, see src/server.ts) by starting the server once
 * — production settings, a throwaway SQLite file and key — and stopping it as soon as it listens.
 * The Dockerfile runs it while building the image, as the user the server runs as (Node keys the
 * cache by user id), so every container starts from a warm cache: no type stripping, no
 * compiling. Exits 1 if the server does not start or the cache stays empty.
 *
 *   NODE_COMPILE_CACHE=node_modules/.cache/node-compile-cache node scripts/warm-compile-cache.ts
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const cacheDir = process.env.NODE_COMPILE_CACHE;
if (!cacheDir) {
  console.error('NODE_COMPILE_CACHE must name the cache folder to fill');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'auth-sse-warm-'));
const server = spawn(process.execPath, ['src/server.ts'], {
  cwd: ROOT,
  env: {
    PATH: process.env.PATH ?? '',
    NODE_COMPILE_CACHE: resolve(ROOT, cacheDir),
    DEBUG: 'false',
    SECRET_KEY: randomBytes(48).toString('base64'),
    DATABASE_URL: `sqlite:///${join(dir, 'warm.db')}`,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const timer = setTimeout(() => {
  console.error('the server did not start within 60 s');
  server.kill('SIGKILL');
}, 60_000);
let output = '';
let stopping = false;
server.stdout.setEncoding('utf8').on('data', (chunk: string) => {
  output += chunk;
  // The server stores the cache as soon as it listens; one SIGTERM ends it cleanly (a second
  // would mean "exit now").
  if (!stopping && /Server listening/.test(output)) {
    stopping = true;
    server.kill('SIGTERM');
  }
});
const code = await new Promise<number | null>((done) => server.on('exit', done));
clearTimeout(timer);
rmSync(dir, { recursive: true, force: true });
const entries = readdirSync(resolve(ROOT, cacheDir), { recursive: true }).length;
if (code !== 0 || entries === 0) {
  console.error(`warming the compile cache failed (server exit ${code}, ${entries} cache entries)`);
  process.exit(1);
}
console.log(`compile cache warm: ${entries} entries in ${cacheDir}`);
