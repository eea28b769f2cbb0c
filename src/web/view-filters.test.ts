import assert from 'node:assert/strict';
import { test } from 'node:test';
import nunjucks from 'nunjucks';
import { htmlAttrs } from './view-filters.ts';

const render = (source: string, context: object) => {
  const env = new nunjucks.Environment(null, { autoescape: true });
  env.addFilter('htmlAttrs', htmlAttrs);
  return env.renderString(source, context);
};

test('htmlAttrs: true is a bare attribute, false/null/undefined are left out, values are quoted', () => {
  const attrs = {
    'data-noun': 'Course',
    hidden: true,
    open: false,
    title: null,
    lang: undefined,
    tabindex: 0,
  };
  assert.equal(
    render('<ul{{ attrs | htmlAttrs }}>', { attrs }),
    '<ul data-noun="Course" hidden tabindex="0">',
  );
  assert.equal(render('<ul{{ attrs | htmlAttrs }}>', { attrs: {} }), '<ul>');
  assert.equal(render('<ul{{ attrs | htmlAttrs }}>', {}), '<ul>');
});

test('htmlAttrs escapes values (and names) once, under autoescape', () => {
  const attrs = { title: '"><script>alert(1)</script>', 'x"y': 'a&b' };
  assert.equal(
    render('<p{{ attrs | htmlAttrs }}>', { attrs }),
    '<p title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" x&quot;y="a&amp;b">',
  );
});
