/**
 * ssexi-morph.js: the `morph` swap mode, kept out of the core because idiomorph alone is about
 * as large as the whole core. Load it with a script tag, or let the core fetch it on first use.
 */
import { Idiomorph } from 'idiomorph';
import { parseFragment } from './swap.ts';

type Field = HTMLInputElement | HTMLTextAreaElement;

/**
 * Same result as the default swap rule (a root with the target's tag replaces the target, keeping
 * its id; anything else replaces its children), reached by morphing: elements, focus and what
 * the user typed or ticked survive. A field keeps its live value when it differs from its
 * default, i.e. when the user changed it.
 */
export function morph(target: Element, html: string): void {
  const fragment = parseFragment(html);
  const root = fragment.firstElementChild;
  const outer = !!root && fragment.childElementCount === 1 && root.tagName === target.tagName;
  if (outer) root.id = target.id;
  Idiomorph.morph(target, outer ? root : fragment, {
    morphStyle: outer ? 'outerHTML' : 'innerHTML',
    restoreFocus: true,
    callbacks: {
      beforeAttributeUpdated: (name, el) => {
        const field = el as Field;
        if (name === 'value' && 'defaultValue' in field) return field.value === field.defaultValue;
        if (name === 'checked' && 'defaultChecked' in field) return field.checked === field.defaultChecked;
        return true;
      },
    },
  });
}

// The core may load later (both deferred) or lazily; it merges into this object.
window.SSEXI ??= {} as NonNullable<Window['SSEXI']>;
window.SSEXI.morph = morph;
