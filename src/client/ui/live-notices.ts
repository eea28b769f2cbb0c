import type { SseMessage } from '../protocol.ts';
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

/**
 * Makes pushed changes noticeable: an item that arrives or changes flashes once, and a toast
 * says what happened ("Course “Algebra” added"). It reads two attributes the partials render:
 * `data-notice-noun` on a list and `data-notice-label` on its items; other updates pass silently.
 * If focus was inside an item a push removed, it moves to the list's heading instead of the page.
 */
export function initLiveNotices(toasts: Toasts): void {
  // A removed item is gone (and detached from its list) by the time `html-updated` fires, so
  // what it was is read when the message arrives.
  const removing = new Map<string, Notice & { heading: HTMLElement | null; hadFocus: boolean }>();
  document.addEventListener('sx:message', (event) => {
    const { update } = (event as CustomEvent<{ update: SseMessage }>).detail;
    for (const [id, value] of Object.entries(update.html ?? {})) {
      if (typeof value === 'string' || value?.swap !== 'remove') continue;
      const item = document.getElementById(id);
      const list = item?.closest<HTMLElement>('[data-notice-noun]');
      if (!item || !list) continue;
      removing.set(id, {
        noun: list.dataset.noticeNoun ?? '',
        label: item.dataset.noticeLabel ?? '',
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
      toasts.show(`${gone.noun} “${gone.label}” removed`);
      if (gone.hadFocus && gone.heading) {
        gone.heading.tabIndex = -1;
        gone.heading.focus();
      }
      return;
    }
    const item =
      swap === 'append' ? target.lastElementChild : swap === 'prepend' ? target.firstElementChild : target;
    const list = item?.parentElement?.closest<HTMLElement>('[data-notice-noun]');
    if (!(item instanceof HTMLElement) || !list || item.dataset.noticeLabel === undefined) return;
    flash(item);
    toasts.show(
      `${list.dataset.noticeNoun} “${item.dataset.noticeLabel}” ${item === target ? 'updated' : 'added'}`,
    );
  });
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
