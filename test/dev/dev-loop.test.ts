/**
 * `npm run dev` as a developer uses it: in a copy of the project, edit a page, a component macro,
 * a stylesheet, a client file and a server module, and see each change served without
 * restarting anything by hand.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyProject, freePort } from '../support/project.ts';

/** The dev process's combined output, with a way to await a line that has not come yet. */
function watchOutput(child: ChildProcess) {
  let output = '';
  const waiters: { pattern: RegExp; from: number; resolve: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of [...waiters])
      if (waiter.pattern.test(output.slice(waiter.from))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return {
    get length() {
      return output.length;
    },
    /** Resolves when output written after `from` matches. */
    waitFor(pattern: RegExp, from: number): Promise<void> {
      if (pattern.test(output.slice(from))) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, from, resolve });
        child.once('exit', () => reject(new Error(`npm run dev exited; output:\n${output}`)));
      });
    },
  };
}

test('npm run dev serves an edited view, component, stylesheet, client file and server module', {
  timeout: 90_000,
}, async (t) => {
  // Registered first so it runs first: the whole process group is gone before the copy is removed.
  let child: ChildProcess | undefined;
  t.after(async () => {
    if (child?.pid === undefined || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    process.kill(-child.pid, 'SIGKILL');
    await exited;
  });
  const dir = await copyProject(t);
  const port = await freePort();
  child = spawn('npm', ['run', 'dev'], {
    cwd: dir,
    detached: true, // its own process group: npm, the watcher and the server stop together
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:///${join(dir, 'app.db')}`,
      BCRYPT_ROUNDS: '4',
      LOG_LEVEL: 'info',
    },
  });
  const out = watchOutput(child);
  const base = `http://127.0.0.1:${port}`;
  await out.waitFor(/Server listening at/, 0);
  await out.waitFor(/watching src\/client/, 0);

  // A page: the next request renders the edit, no restart.
  const view = join(dir, 'src/web/views/login.njk');
  assert.match(await (await fetch(`${base}/login`)).text(), /Sign in to open your live page/);
  await writeFile(
    view,
    (await readFile(view, 'utf8')).replace('Sign in to open', 'Edited view: sign in to open'),
  );
  assert.match(await (await fetch(`${base}/login`)).text(), /Edited view: sign in to open/);
  // A component macro the page imports: the same (imported templates are re-read too).
  const button = join(dir, 'src/web/views/components/button.njk');
  await writeFile(
    button,
    (await readFile(button, 'utf8')).replace('class="btn btn-', 'data-edited class="btn btn-'),
  );
  assert.match(await (await fetch(`${base}/login`)).text(), /<button type="submit" data-edited class="btn/);
  // A stylesheet: served as it is on disk, and revalidated by the browser (no stale cache).
  const css = join(dir, 'public/app.css');
  await writeFile(css, `${await readFile(css, 'utf8')}\n.edited-rule {}\n`);
  const stylesheet = await fetch(`${base}/static/app.css`);
  assert.match(await stylesheet.text(), /\.edited-rule \{\}/);
  assert.match(stylesheet.headers.get('cache-control') ?? '', /max-age=0|no-cache/);

  // A client file: esbuild rebuilds the bundle, and the server serves the new file.
  const client = join(dir, 'src/client/ui/connection.ts');
  const mark = out.length;
  await writeFile(client, (await readFile(client, 'utf8')).replace("live: 'Live'", "live: 'Edited live'"));
  await out.waitFor(/client rebuilt: public\/app\.js/, mark);
  assert.match(await (await fetch(`${base}/static/app.js`)).text(), /Edited live/);

  // A server module: node --watch restarts the server with the edit.
  const health = join(dir, 'src/web/health.ts');
  const restart = out.length;
  await writeFile(health, (await readFile(health, 'utf8')).replaceAll("'ok'", "'edited'"));
  await out.waitFor(/Server listening at/, restart);
  assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'edited' });
});
