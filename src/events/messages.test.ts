import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combine, escapeHtml, exec, html, isRecipient, messageProblem, safeHtml, vars } from './messages.ts';

test('safeHtml escapes every interpolated value but keeps nested safeHtml and joins arrays', () => {
  const title = `<script>alert("x")</script> & 'y'`;
  const items = ['a<b', 'c>d'].map((item) => safeHtml`<li>${item}</li>`);
  const out = safeHtml`<h1 title="${title}">${title}</h1><ul>${items}</ul>${null}${undefined}${false}${0}`;
  assert.equal(
    String(out),
    '<h1 title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;</h1><ul><li>a&lt;b</li><li>c&gt;d</li></ul>0',
  );
  assert.equal(escapeHtml('&amp;'), '&amp;amp;');
});

test('builders produce SSEXI messages', () => {
  assert.deepEqual(html('list', '<ul></ul>'), { html: { list: '<ul></ul>' } });
  assert.deepEqual(html('list', safeHtml`<li>${'<'}</li>`, 'append'), {
    html: { list: { content: '<li>&lt;</li>', swap: 'append' } },
  });
  assert.deepEqual(exec('console.log(1)'), { js: { exec: 'console.log(1)' } });
  assert.deepEqual(vars({ count: 3, user: { name: 'mark' } }), { js: { count: 3, user: { name: 'mark' } } });
  assert.deepEqual(combine(html('a', '1'), html('b', '2'), vars({ x: 1 }), exec('go()')), {
    html: { a: '1', b: '2' },
    js: { x: 1, exec: 'go()' },
  });
});

test('vars refuses "exec", which would run code', () => {
  assert.throws(() => vars({ exec: 'alert(1)' }), TypeError);
});

test('messageProblem accepts SSEXI messages and names what is wrong with anything else', () => {
  for (const ok of [
    { html: { a: 'x' } },
    { html: { a: { content: 'x', swap: 'morph' }, b: { swap: 'remove' } } },
    { js: { exec: 'f()', anything: [1, { deep: true }] } },
  ])
    assert.equal(messageProblem(ok), null, JSON.stringify(ok));
  for (const bad of [
    null,
    'x',
    [],
    {},
    { html: 'x' },
    { html: { a: 1 } },
    { html: { '': 'x' } },
    { js: { exec: 1 } },
    { other: 1 },
  ]) {
    const problem = messageProblem(bad);
    assert.equal(typeof problem, 'string', JSON.stringify(bad));
  }
});

test('recipients are usernames or "*" without whitespace or control characters', () => {
  for (const ok of ['mark', '*', 'first.last-1', 'ünïcode']) assert.ok(isRecipient(ok), ok);
  for (const bad of ['', 'two words', 'line\nbreak', 'tab\t', 'x'.repeat(151)])
    assert.ok(!isRecipient(bad), bad);
});
