type State = 'connecting' | 'live' | 'reconnecting' | 'offline';

const LABELS: Record<State, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

/**
 * Shows the state of the page's stream, from SSEXI's events and the browser's own online/offline
 * events. Hidden on pages without a stream. The element is a status live region, so a change is
 * announced; setting the same state again changes nothing and announces nothing.
 */
export function initConnectionIndicator(el: HTMLElement | null): void {
  const label = el?.querySelector('.conn-label');
  if (!el || !label) return;
  const set = (state: State) => {
    if (el.dataset.state === state) return;
    el.dataset.state = state;
    label.textContent = LABELS[state];
  };
  document.addEventListener('sx:initialized', () => {
    el.hidden = false;
    if (!navigator.onLine) set('offline');
  });
  document.addEventListener('sx:connected', () => set('live'));
  document.addEventListener('sx:error', () => set(navigator.onLine ? 'reconnecting' : 'offline'));
  addEventListener('offline', () => set('offline'));
  addEventListener('online', () => set('reconnecting'));
}
