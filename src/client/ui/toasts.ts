export type ToastLevel = 'info' | 'success' | 'error';

export interface Toasts {
  show(text: string, level?: ToastLevel): void;
}

/** How long a toast stays (paused while hovered or focused). */
const TOAST_MS = 6000;
const MAX_TOASTS = 4;
const CLOSE_ICON =
  '<svg aria-hidden="true" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"><path d="M18 6 6 18M6 6l12 12"/></svg>';

/**
 * The toast region: notices shown by this script and `.toast` elements the server pushes into
 * `#toasts` both get a close button and leave after a few seconds, except while the pointer or
 * focus is on them. The region is a polite live region, so each one is announced.
 */
export function initToasts(region: HTMLElement | null): Toasts {
  const decorate = (toast: HTMLElement) => {
    if (toast.querySelector('.toast-close')) return;
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'btn btn-ghost btn-icon toast-close';
    close.setAttribute('aria-label', 'Dismiss notification');
    close.innerHTML = CLOSE_ICON;
    close.addEventListener('click', () => toast.remove());
    toast.append(close);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      timer = setTimeout(() => toast.remove(), TOAST_MS);
    };
    const pause = () => clearTimeout(timer);
    toast.addEventListener('mouseenter', pause);
    toast.addEventListener('focusin', pause);
    toast.addEventListener('mouseleave', arm);
    toast.addEventListener('focusout', arm);
    arm();
  };
  if (region) {
    new MutationObserver(() => {
      const all = region.querySelectorAll<HTMLElement>(':scope > .toast');
      all.forEach(decorate);
      for (let i = 0; i < all.length - MAX_TOASTS; i++) all[i]?.remove();
    }).observe(region, { childList: true });
    region.querySelectorAll<HTMLElement>(':scope > .toast').forEach(decorate);
  }
  return {
    show(text, level = 'info') {
      if (!region) return;
      const toast = document.createElement('div');
      toast.className = 'toast';
      toast.dataset.level = level;
      const p = document.createElement('p');
      p.className = 'toast-text';
      p.textContent = text;
      toast.append(p);
      region.append(toast);
    },
  };
}
