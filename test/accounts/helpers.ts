import { request } from 'node:http';
import type { Browser } from '../support/http.ts';

export interface PageAnswer {
  status: number;
  location: string | undefined;
  body: string;
  setCookies: string[];
}

/**
 * Posts a form as a browser *navigation* (no JavaScript): `Sec-Fetch-Mode: navigate`, which
 * fetch cannot send (it always says `cors`), so node:http makes the request. Cookies the answer
 * sets go into the browser's jar.
 */
export async function navigatePost(
  browser: Browser,
  path: string,
  fields: Record<string, string>,
  from: string,
): Promise<PageAnswer> {
  const token = await browser.csrfToken(from);
  const body = new URLSearchParams({ ...fields, _csrf: token }).toString();
  const answer = await new Promise<PageAnswer>((resolve, reject) => {
    const req = request(
      new URL(path, browser.base),
      {
        method: 'POST',
        headers: {
          cookie: browser.cookieHeader,
          'content-type': 'application/x-www-form-urlencoded',
          'sec-fetch-site': 'same-origin',
          'sec-fetch-mode': 'navigate',
          accept: 'text/html',
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            location: res.headers.location,
            body: text,
            setCookies: res.headers['set-cookie'] ?? [],
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  for (const line of answer.setCookies) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (value === '' || /max-age=0/i.test(line)) browser.cookies.delete(name);
    else browser.cookies.set(name, value);
  }
  return answer;
}
