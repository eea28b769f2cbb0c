import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { test } from 'node:test';
import { buildClient, gzipSize } from '../../scripts/build-client.ts';

const CORE_BUDGET_BYTES = 4096;

test('builds IIFE bundles, plain and minified, each with a linked source map', async () => {
  const files = new Map((await buildClient(false)).map((file) => [basename(file.path), file]));
  for (const name of ['ssexi.js', 'ssexi.min.js', 'ssexi-morph.js', 'ssexi-morph.min.js']) {
    const code = files.get(name)?.text ?? '';
    assert.match(code, /^"use strict";\s*\(\s*\(\)\s*=>\s*\{/, `${name} is an IIFE`);
    assert.ok(code.trimEnd().endsWith(`//# sourceMappingURL=${name}.map`), `${name} links its map`);
    const map = JSON.parse(files.get(`${name}.map`)?.text ?? '{}');
    assert.ok(
      map.sources.some((source: string) => source.endsWith('src/client/swap.ts')),
      `${name}.map`,
    );
  }
});

test(`the core stays within ${CORE_BUDGET_BYTES} bytes minified and gzipped`, async (t) => {
  const core = (await buildClient(false)).find((file) => file.path.endsWith('/ssexi.min.js'));
  assert.ok(core);
  const size = gzipSize(core.contents);
  t.diagnostic(`ssexi.min.js: ${core.contents.length} B minified, ${size} B gzipped`);
  assert.ok(size <= CORE_BUDGET_BYTES, `${size} B > ${CORE_BUDGET_BYTES} B`);
  assert.doesNotMatch(core.text, /\beval\(|new Function\b/, 'no eval: exec goes through a nonce script');
  assert.doesNotMatch(core.text, /idiomorph/i, 'morphing stays in its own bundle');
});
