/**
 * The README's "Adding a live feature" walkthrough, followed to the letter in a copy of the
 * project: its snippets are the files in docs/examples/notes/ (which lint and type-check in place),
 * copied where the README says, wired in the way it says, and then the feature works. The
 * copy-paste example is docs/examples/live-page/ (test/browser/docs-example.test.ts uses it).
 */
import assert from 'node:assert/strict';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { testEnv } from '../support/app.ts';
import { Browser } from '../support/http.ts';
import { copyProject, ROOT } from '../support/project.ts';
import { openSse } from '../support/sse.ts';

const EXAMPLE = join(ROOT, 'docs/examples/notes');

async function exampleFiles(dir = EXAMPLE): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? exampleFiles(join(dir, entry.name)) : [join(dir, entry.name)],
    ),
  );
  return nested.flat();
}

/** A source edit the walkthrough asks for; fails loudly when the anchor it names is gone. */
async function insertAfter(file: string, anchor: RegExp, text: string): Promise<void> {
  const source = await readFile(file, 'utf8');
  const match = anchor.exec(source);
  assert.ok(match, `${relative(ROOT, file)} no longer has ${anchor}: update the README walkthrough`);
  const at = match.index + match[0].length;
  await writeFile(file, source.slice(0, at) + text + source.slice(at));
}

/** The code blocks of a Markdown file, with the indentation of their fence (in a list item) taken off. */
async function codeBlocks(file: string): Promise<string[]> {
  const markdown = await readFile(join(ROOT, file), 'utf8');
  return [...markdown.matchAll(/^( *)```\w*\n([\s\S]*?)^\1```/gm)].map(([, indent = '', body = '']) =>
    body.replace(new RegExp(`^${indent}`, 'gm'), ''),
  );
}

test('every file of the walkthrough appears in the README exactly as it is in docs/examples/notes/', async () => {
  const blocks = await codeBlocks('README.md');
  for (const file of await exampleFiles()) {
    const content = await readFile(file, 'utf8');
    assert.ok(blocks.includes(content), `README shows ${relative(EXAMPLE, file)} as it is`);
  }
});

test('the copy-paste example in the README and docs/ssexi.md is docs/examples/live-page/, as it is', async () => {
  const files = await exampleFiles(join(ROOT, 'docs/examples/live-page'));
  assert.equal(files.length, 2);
  for (const doc of ['README.md', 'docs/ssexi.md']) {
    const blocks = await codeBlocks(doc);
    for (const file of files)
      assert.ok(
        blocks.includes(await readFile(file, 'utf8')),
        `${doc} shows ${relative(ROOT, file)} as it is`,
      );
  }
});

test('following the walkthrough gives a notes page that updates live', { timeout: 60_000 }, async (t) => {
  const dir = await copyProject(t);
  // Steps 1–3: copy the feature's files into place.
  await cp(join(EXAMPLE, 'src'), join(dir, 'src'), { recursive: true });
  // Step 4: list the migration under the next number.
  const migrations = join(dir, 'src/db/migrations/index.ts');
  const numbers = [...(await readFile(migrations, 'utf8')).matchAll(/^ {4}'(\d{3})_/gm)].map((m) =>
    Number(m[1]),
  );
  const next = String(Math.max(...numbers) + 1).padStart(3, '0');
  await insertAfter(
    migrations,
    /^import .*\n/m,
    "import { notesMigration } from '../../notes/migration.ts';\n",
  );
  await insertAfter(
    migrations,
    /\n {4}},\n(?= {2}};\n}\n)/,
    `    '${next}_notes': notesMigration(dialect),\n`,
  );
  // Step 5: register the plugin after the other features.
  const appFile = join(dir, 'src/app.ts');
  await insertAfter(appFile, /^import .*\n/m, "import notesPlugin from './notes/plugin.ts';\n");
  await insertAfter(
    appFile,
    /await app\.register\(accountsPlugin[^;]*;\n/,
    '  await app.register(notesPlugin);\n',
  );

  const { buildApp } = (await import(pathToFileURL(join(dir, 'src/app.ts')).href)) as {
    buildApp: (config: unknown) => Promise<FastifyInstance>;
  };
  const { loadConfig } = (await import(pathToFileURL(join(dir, 'src/config.ts')).href)) as {
    loadConfig: (env: Record<string, string>) => unknown;
  };
  const app = await buildApp(loadConfig(testEnv(t)));
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  const anonymous = await fetch(`${url}/notes`, { redirect: 'manual' });
  assert.equal(anonymous.status, 302, 'anonymous visitors go to the login form');
  const browser = await new Browser(url).login();
  const page = await (await browser.fetch('/notes', { headers: { accept: 'text/html' } })).text();
  assert.match(
    page,
    /<body sx-connect="\/protected\/events\/mark" sx-last-id="\d+"/,
    'the view got its stream',
  );
  assert.match(page, /No notes yet/);

  const stream = await openSse(`${url}/protected/events/mark`, { cookie: browser.cookieHeader });
  t.after(() => stream.close());
  const added = await browser.submit('/notes', { text: 'Buy <milk>' }, '/notes');
  assert.equal(added.status, 201);
  const pushed = JSON.parse((await stream.next()).data) as {
    html: Record<string, { content: string; swap: string }>;
  };
  assert.equal(pushed.html['note-list']?.swap, 'append');
  assert.match(pushed.html['note-list']?.content ?? '', /<li id="note-1" [^>]*>.*Buy &lt;milk&gt;/);
  assert.equal((await browser.submit('/notes', { text: '' }, '/notes')).status, 400);
  assert.match(
    await (await browser.fetch('/notes')).text(),
    /Buy &lt;milk&gt;/,
    'stored: there after a reload',
  );
});
