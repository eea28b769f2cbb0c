/**
 * Where a `next` parameter may send the browser, and in what form. Two threats:
 * - open redirect: only paths on this origin are followed — `//evil.example`, `/\evil.example`
 *   (browsers read `\` as `/`), absolute URLs and control characters are refused;
 * - header injection: the result is written into `Location`, which Node refuses to hold outside
 *   Latin-1 (a 500 past the error handler) and which clients read differently beyond ASCII. So
 *   the path is normalised by the WHATWG URL parser — the one browsers use — which
 *   percent-encodes everything outside printable ASCII (`/日本` → `/%E6%97%A5%E6%9C%AC`), and the
 *   result is checked again, since normalising can itself produce `//` (`/.//evil.example`).
 * Anything refused makes the caller fall back to its default page.
 */

const MAX_LENGTH = 2048;
/** A placeholder origin: only the path, query and fragment of the result are kept. */
const BASE = 'http://redirect.invalid';
/** A path on this origin, in printable ASCII: safe for a header and for every client. */
const HEADER_SAFE_PATH = /^\/(?![/\\])[\x21-\x7e]*$/;

/** The header-safe, same-origin form of `value`, or null when it may not be followed. */
export function safeRedirectPath(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return null;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return null;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return null;
  }
  if (url.origin !== BASE) return null;
  const path = `${url.pathname}${url.search}${url.hash}`;
  // Long encodings are refused too: proxies cap response headers (nginx at 4–8 KiB).
  if (path.length > MAX_LENGTH || !HEADER_SAFE_PATH.test(path)) return null;
  return path;
}
