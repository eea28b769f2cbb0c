/** Small DOM helpers shared by the modules. */

/**
 * Dispatches a bubbling, cancelable `sx:<type>` CustomEvent (the seed's contract) and returns
 * false when a listener called `preventDefault()`, which skips the default action.
 */
export function emit(target: EventTarget, type: string, detail: object): boolean {
  return target.dispatchEvent(
    new CustomEvent(`sx:${type}`, { detail, bubbles: true, cancelable: true, composed: true }),
  );
}

/** Content of `<meta name="…">`, or '' when the page has none. */
export function meta(name: string): string {
  return document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';
}

/**
 * Sends the page to the login form. `redirect` comes from the server but is still only followed
 * when it is a path on this origin, so a forged or injected value cannot navigate elsewhere.
 */
export function goToLogin(redirect?: unknown): void {
  const fallback = meta('sx-login-url') || '/login';
  const url =
    typeof redirect === 'string' &&
    redirect[0] === '/' &&
    new URL(redirect, location.href).origin === location.origin
      ? redirect
      : fallback;
  location.assign(url);
}
