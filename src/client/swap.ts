import type { SwapMode } from './protocol.ts';

/** A morph function, provided by `ssexi-morph.js` (idiomorph) as `SSEXI.morph`. */
export type Morph = (target: Element, html: string) => void;

/** Parses html without running scripts or loading anything (a template's content is inert). */
export function parseFragment(html: string): DocumentFragment {
  const template = document.createElement('template');
  template.innerHTML = html;
  return template.content;
}

/**
 * The seed's rule: a fragment whose root element has the target's tag replaces the target's
 * children and attributes, keeping its id (so the target stays findable); anything else
 * becomes the target's children.
 */
function replaceDefault(target: Element, fragment: DocumentFragment): void {
  const root = fragment.firstElementChild;
  if (root && fragment.childElementCount === 1 && root.tagName === target.tagName) {
    const id = target.id;
    for (const { name } of [...target.attributes]) if (name !== 'id') target.removeAttribute(name);
    for (const { name, value } of [...root.attributes]) if (name !== 'id') target.setAttribute(name, value);
    target.id = id;
    target.replaceChildren(...root.childNodes);
  } else target.replaceChildren(fragment);
}

/** The DOM method behind each positional mode; all take the parsed nodes. */
const INSERT = {
  inner: 'replaceChildren',
  outer: 'replaceWith',
  append: 'append',
  prepend: 'prepend',
  before: 'before',
  after: 'after',
} as const;

/**
 * Makes the positional modes idempotent: a top-level element of the fragment whose id is already
 * in the document replaces that element where it stands, and only the rest is inserted. A page
 * resumes its stream from an id read before its data (so nothing is lost), or after an outage
 * from an older one, so an insert the page already shows can be replayed; applied twice, it must
 * not show twice.
 */
function replaceKnown(fragment: DocumentFragment): DocumentFragment {
  for (const element of [...fragment.children]) {
    if (element.id) document.getElementById(element.id)?.replaceWith(element);
  }
  return fragment;
}

/** Puts `html` into the document relative to `target` according to `mode` (see SwapMode). */
export function swapHtml(target: Element, html: string, mode: SwapMode | undefined, morph?: Morph): void {
  if (mode === 'remove') target.remove();
  else if (mode === 'morph' && morph) morph(target, html);
  else if (mode === undefined || mode === 'morph') replaceDefault(target, parseFragment(html));
  else if (mode === 'inner' || mode === 'outer') target[INSERT[mode]](parseFragment(html));
  else if (Object.hasOwn(INSERT, mode)) target[INSERT[mode]](replaceKnown(parseFragment(html)));
  else throw new TypeError(`unknown swap mode: ${mode}`);
}
