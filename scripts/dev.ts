/**
 * `npm run dev`: the development loop.
 * - The server runs under `node --watch`, which restarts it when a server module changes.
 * - Views need no restart: in DEBUG @fastify/view re-reads a template on every render.
 * - The browser bundles (src/client → public/) are rebuilt by esbuild's watch mode on change;
 *   static files are read from disk per request, so a reload shows them (CSS needs no build).
 * Ctrl-C (or SIGTERM) stops both.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { context, type Plugin } from 'esbuild';
import { bundleOptions } from './build-client.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Says when each rebuild is done (or failed), so a developer — or a test — knows when to reload. */
const report: Plugin = {
  name: 'report',
  setup(build) {
    let first = true;
    build.onEnd((result) => {
      if (first) {
        first = false;
        return;
      }
      const file = build.initialOptions.outfile ?? '';
      if (result.errors.length > 0) console.error(`client build failed: ${file}`);
      else console.log(`client rebuilt: ${file}`);
    });
  },
};

const contexts = await Promise.all(
  bundleOptions().map((options) => context({ ...options, plugins: [report] })),
);
await Promise.all(contexts.map((ctx) => ctx.watch()));
console.log('watching src/client for changes');

const server = spawn(process.execPath, ['--watch', 'src/server.ts'], { cwd: ROOT, stdio: 'inherit' });

let stopping = false;
const stop = async (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  server.kill(signal);
  await Promise.all(contexts.map((ctx) => ctx.dispose()));
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
server.on('exit', (code) => {
  void stop('SIGTERM').then(() => process.exit(code ?? 0));
});
