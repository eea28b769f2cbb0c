import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import nunjucks from 'nunjucks';
import { memoiseImports } from './nunjucks-env.ts';

/** A folder of templates and an environment over it, counting how often `button.njk` runs. */
function setup(t: TestContext, options: { noCache: boolean }) {
  const dir = mkdtempSync(join(tmpdir(), 'nunjucks-env-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, source: string) => writeFileSync(join(dir, name), source);
  write(
    'button.njk',
    '{% set _ = ran() %}{% macro button(label) %}<button class="{{ tone }}">{{ label }}</button>{% endmacro %}',
  );
  write('page.njk', '{% from "button.njk" import button %}{{ button(label) }}');
  write('other.njk', '{% import "button.njk" as ui %}<p>{{ ui.button(label) }}</p>');
  write('with-context.njk', '{% from "button.njk" import button with context %}{{ button(label) }}');
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir, { noCache: options.noCache }), {
    autoescape: true,
  });
  memoiseImports(env);
  let runs = 0;
  env.addGlobal('ran', () => {
    runs++;
    return '';
  });
  env.addGlobal('tone', 'plain');
  const render = (name: string, context: object) =>
    new Promise<string>((resolve, reject) =>
      env.render(name, context, (error, html) => (error ? reject(error) : resolve(html ?? ''))),
    );
  return { env, write, render, runs: () => runs };
}

test('a component imported by many renders and templates runs once', async (t) => {
  const { render, runs } = setup(t, { noCache: false });
  assert.equal(await render('page.njk', { label: 'Save' }), '<button class="plain">Save</button>');
  assert.equal(await render('page.njk', { label: 'Add' }), '<button class="plain">Add</button>');
  assert.equal(
    await render('other.njk', { label: '<b>' }),
    '<p><button class="plain">&lt;b&gt;</button></p>',
  );
  assert.equal(runs(), 1);
});

test('a memoised macro still sees the globals as they are when it is called, not the importer’s variables', async (t) => {
  const { env, render } = setup(t, { noCache: false });
  assert.equal(await render('page.njk', { label: 'A', tone: 'page' }), '<button class="plain">A</button>');
  env.addGlobal('tone', 'loud');
  assert.equal(await render('page.njk', { label: 'B' }), '<button class="loud">B</button>');
});

test('an import with context runs on every render, against the importer’s variables', async (t) => {
  const { render, runs } = setup(t, { noCache: false });
  assert.equal(
    await render('with-context.njk', { label: 'A', tone: 'page' }),
    '<button class="page">A</button>',
  );
  assert.equal(
    await render('with-context.njk', { label: 'B', tone: 'other' }),
    '<button class="other">B</button>',
  );
  assert.equal(runs(), 2);
});

test('with noCache (DEBUG), an edited component shows on the next render', async (t) => {
  const { write, render } = setup(t, { noCache: true });
  assert.equal(await render('page.njk', { label: 'Save' }), '<button class="plain">Save</button>');
  write('button.njk', '{% macro button(label) %}<button data-edited>{{ label }}</button>{% endmacro %}');
  assert.equal(await render('page.njk', { label: 'Save' }), '<button data-edited>Save</button>');
});

test('a template rendered without a callback gets the same memo', (t) => {
  const { env, runs } = setup(t, { noCache: false });
  assert.equal(env.render('page.njk', { label: 'A' }), '<button class="plain">A</button>');
  assert.equal(env.render('page.njk', { label: 'B' }), '<button class="plain">B</button>');
  assert.equal(runs(), 1);
});
