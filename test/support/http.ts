/** A tiny cookie jar over fetch, so tests talk to the server the way a browser does. */
export class Browser {
  readonly base: string;
  readonly cookies = new Map<string, string>();

  constructor(base: string) {
    this.base = base;
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0 && !headers.has('cookie')) headers.set('cookie', this.cookieHeader);
    const response = await fetch(new URL(path, this.base), { redirect: 'manual', ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || /expires=thu, 01 jan 1970/i.test(a),
      );
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** GETs a page and returns its CSRF token (from the form field or the meta tag). */
  async csrfToken(path = '/login'): Promise<string> {
    const html = await (await this.fetch(path)).text();
    const match =
      /name="_csrf" value="([^"]+)"/.exec(html) ?? /name="csrf-token" content="([^"]+)"/.exec(html);
    if (!match?.[1]) throw new Error(`no CSRF token on ${path}`);
    return match[1];
  }

  /** Submits an urlencoded form with the CSRF token of `from`, as a same-origin page would. */
  async submit(path: string, fields: Record<string, string>, from = '/login'): Promise<Response> {
    const token = await this.csrfToken(from);
    return this.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.base },
      body: new URLSearchParams({ ...fields, _csrf: token }),
    });
  }

  /** Logs in through the real form; throws unless the server redirects to the protected page. */
  async login(username = 'mark', password = 'pass123'): Promise<this> {
    const response = await this.submit('/login', { username, password });
    if (response.status !== 302) throw new Error(`login as ${username} failed: ${response.status}`);
    return this;
  }

  /**
   * Logs out the way the page's button does (POST with the CSRF token). A bare
   * `fetch('/logout')` sends no Sec-Fetch-Site/Referer, so the server answers with a
   * confirmation page instead of acting (see SECURITY.md).
   */
  async logout(everywhere = false): Promise<this> {
    const response = await this.submit(everywhere ? '/logout/all' : '/logout', {}, '/protected');
    if (response.status !== 302) throw new Error(`logout failed: ${response.status}`);
    return this;
  }
}

/** Logs in through the JSON API and returns the bearer token. */
export async function apiToken(base: string, username = 'mark', password = 'pass123'): Promise<string> {
  const response = await fetch(new URL('/api/login', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (response.status !== 200) throw new Error(`API login failed: ${response.status}`);
  const body = (await response.json()) as { access_token: string };
  return body.access_token;
}
