import type { SseMessage } from '../protocol.ts';
import { parseFragment } from '../swap.ts';
import type { Toasts } from './toasts.ts';

interface HtmlUpdatedDetail {
  elementId: string;
  targetElement: Element;
  swap?: string;
}

interface Notice {
  noun: string;
  label: string;
}

/** The swaps that add content next to or inside their target instead of replacing it. */
const POSITIONAL = new Set(['append', 'prepend', 'before', 'after']);

/**
 * Makes pushed changes noticeable: an item that arrives or changes flashes once, and a toast
 * says what happened ("Course “Algebra” added"). It reads what the partials render: a
 * `data-notice-noun` on a list, and on each item its `.list-item-title` text (or a
 * `data-notice-label`, where the title holds more than the name). A push that replaces an item,
 * or only its title, is an update; other updates (another part of an item) pass silently.
 * An added item is found by the id of the pushed content's root; one the page already showed (a
 * replayed add, which SSEXI.js applies in place) is no news. If focus was inside an item a push
 * removed, it moves to the list's heading instead of the page.
 */
export function initLiveNotices(toasts: Toasts): void {
  // A removed item is gone (and detached from its list) by the time `html-updated` fires, so
  // what it was is read when the message arrives; so is whether an added item is already there.
  const removing = new Map<string, Notice & { heading: HTMLElement | null; hadFocus: boolean }>();
  const adding = new Map<string, string>();
  document.addEventListener('sx:message', (event) => {
    const { update } = (event as CustomEvent<{ update: SseMessage }>).detail;
    for (const [id, value] of Object.entries(update.html ?? {})) {
      if (typeof value === 'string' || !value?.swap) continue;
      if (POSITIONAL.has(value.swap)) {
        const rootId = parseFragment(value.content ?? '').firstElementChild?.id;
        if (rootId && !document.getElementById(rootId)) adding.set(id, rootId);
        continue;
      }
      const item = document.getElementById(id);
      const list = item?.closest<HTMLElement>('[data-notice-noun]');
      if (value.swap !== 'remove' || !item || !list) continue;
      removing.set(id, {
        noun: list.dataset.noticeNoun ?? '',
        label: labelOf(item) ?? '',
        heading: headingOf(list),
        hadFocus: item.contains(document.activeElement),
      });
    }
  });

  document.addEventListener('sx:html-updated', (event) => {
    const { elementId, targetElement: target, swap } = (event as CustomEvent<HtmlUpdatedDetail>).detail;
    if (swap === 'remove') {
      const gone = removing.get(elementId);
      removing.delete(elementId);
      if (!gone) return;
      toasts.show(`${gone.noun} “${shorten(gone.label)}” removed`);
      if (gone.hadFocus && gone.heading) {
        gone.heading.tabIndex = -1;
        gone.heading.focus();
      }
      return;
    }
    const added = adding.get(elementId);
    adding.delete(elementId);
    const positional = swap !== undefined && POSITIONAL.has(swap);
    const changed = positional ? (added ? document.getElementById(added) : null) : target;
    const at = changed ? itemAt(changed) : null;
    const label = at ? labelOf(at.item) : undefined;
    if (!at || label === undefined) return;
    flash(at.item);
    toasts.show(`${at.list.dataset.noticeNoun} “${shorten(label)}” ${positional ? 'added' : 'updated'}`);
  });
}

/**
 * The item of a `data-notice-noun` list that `element` is, or whose title it is (a push may
 * replace just the title); null for anything else, such as another part of an item.
 */
function itemAt(element: Element): { item: HTMLElement; list: HTMLElement } | null {
  const list = element.parentElement?.closest<HTMLElement>('[data-notice-noun]');
  let item: Element | null = element;
  while (item && item.parentElement !== list) item = item.parentElement;
  if (!list || !(item instanceof HTMLElement)) return null;
  return item === element || element.matches('.list-item-title') ? { item, list } : null;
}

/** Notices name an item in a few words: a 200-character title is cut short. */
const LABEL_MAX = 60;
function shorten(label: string): string {
  const chars = [...label];
  return chars.length <= LABEL_MAX
    ? label
    : `${chars
        .slice(0, LABEL_MAX - 1)
        .join('')
        .trimEnd()}…`;
}

/** What a notice calls an item: its data-notice-label, else its title's text. */
function labelOf(item: HTMLElement): string | undefined {
  return item.dataset.noticeLabel ?? item.querySelector('.list-item-title')?.textContent?.trim();
}

function flash(item: HTMLElement): void {
  item.classList.remove('is-new');
  void item.offsetWidth; // restart the animation when the same item changes twice
  item.classList.add('is-new');
  item.addEventListener('animationend', () => item.classList.remove('is-new'), { once: true });
}

function headingOf(list: HTMLElement): HTMLElement | null {
  const id = list.getAttribute('aria-labelledby');
  return id ? document.getElementById(id) : null;
}
