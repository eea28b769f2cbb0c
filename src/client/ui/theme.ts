/** The cookie the server reads to render `<html data-theme>`, so the first paint is right. */
const COOKIE = 'theme';
const YEAR_SECONDS = 365 * 24 * 3600;

/**
 * Light/dark switch. Until the visitor picks, the system preference applies (CSS
 * `color-scheme: light dark`); a pick is stored per browser in a cookie and applied at once.
 */
export function initThemeToggle(buttons: NodeListOf<HTMLButtonElement>): void {
  const root = document.documentElement;
  const systemDark = matchMedia('(prefers-color-scheme: dark)');
  const current = () => root.dataset.theme ?? (systemDark.matches ? 'dark' : 'light');
  const sync = () => {
    for (const button of buttons) button.setAttribute('aria-pressed', String(current() === 'dark'));
  };
  for (const button of buttons) {
    button.hidden = false;
    button.addEventListener('click', () => {
      const theme = current() === 'dark' ? 'light' : 'dark';
      root.dataset.theme = theme;
      const secure = location.protocol === 'https:' ? '; secure' : '';
      // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is not in every browser yet
      document.cookie = `${COOKIE}=${theme}; path=/; max-age=${YEAR_SECONDS}; samesite=lax${secure}`;
      sync();
    });
  }
  systemDark.addEventListener('change', sync);
  sync();
}
