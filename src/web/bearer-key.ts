import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * A check for `Authorization: Bearer <key>` against one shared secret (PUBLISH_API_KEY,
 * METRICS_API_KEY). Keys are compared through SHA-256 digests with `timingSafeEqual` (equal
 * lengths, constant time), so response timing reveals nothing about how much of a guess was right.
 */
export function createBearerKeyCheck(key: string): (authorization: string | undefined) => boolean {
  const expected = digest(key);
  return (authorization) => {
    const match = /^Bearer (.+)$/i.exec(authorization ?? '');
    if (!match?.[1]) return false;
    return timingSafeEqual(digest(match[1].trim()), expected);
  };
}
