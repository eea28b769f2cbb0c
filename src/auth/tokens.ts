/**
 * Access tokens: HS256 JWTs with `sub` = username and integer `exp`, the claims python-jose
 * writes and reads, so this app and the Python template accept each other's tokens under one
 * SECRET_KEY. We add `iat` and a random `jti` (python-jose ignores both) so one token can be
 * revoked and "log out everywhere" can compare issue times.
 *
 * Verification pins the algorithm (`alg: none`, RS/HS confusion and every other algorithm are
 * refused whatever the header says), requires `exp` and `sub`, and never throws for a bad token:
 * it returns null. fast-jwt caches verified tokens (bounded, keyed by the token, expiring with it),
 * which keeps the per-request cost off the HMAC.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';

export interface AccessClaims {
  sub: string;
  exp: number;
  /** Absent on tokens minted by the Python template. */
  iat?: number;
  jti?: string;
}

export interface IssuedToken {
  token: string;
  claims: AccessClaims & { iat: number; jti: string };
}

export interface TokenService {
  /**
   * Signs a token for `username`, issued at `nowSeconds`, valid for the configured lifetime unless
   * `options.exp` says otherwise; `options.jti` names the session it belongs to (a random one by
   * default).
   */
  sign(username: string, nowSeconds?: number, options?: { jti?: string; exp?: number }): IssuedToken;
  /** The claims of a valid token, or null for anything forged, expired, malformed or incomplete. */
  verify(token: string): AccessClaims | null;
  /** Lifetime of new tokens, in seconds. */
  readonly lifetimeSeconds: number;
}

const MAX_TOKEN_LENGTH = 4096;

export function createTokenService(options: { secret: string; lifetimeHours: number }): TokenService {
  const lifetimeSeconds = Math.max(1, Math.round(options.lifetimeHours * 3600));
  const signer = createSigner({ key: options.secret, algorithm: 'HS256' });
  const verifier = createVerifier({
    key: options.secret,
    algorithms: ['HS256'],
    requiredClaims: ['exp', 'sub'],
    cache: 10_000,
  });
  return {
    lifetimeSeconds,
    sign(username, nowSeconds = Math.floor(Date.now() / 1000), options = {}) {
      const claims = {
        sub: username,
        iat: nowSeconds,
        exp: options.exp ?? nowSeconds + lifetimeSeconds,
        jti: options.jti ?? randomUUID(),
      };
      return { token: signer(claims), claims };
    },
    verify(token) {
      if (token.length > MAX_TOKEN_LENGTH) return null;
      try {
        const claims: unknown = verifier(token);
        return isAccessClaims(claims) ? claims : null;
      } catch {
        return null;
      }
    },
  };
}

function isAccessClaims(value: unknown): value is AccessClaims {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    typeof c.sub === 'string' &&
    c.sub !== '' &&
    Number.isInteger(c.exp) &&
    (c.iat === undefined || typeof c.iat === 'number') &&
    (c.jti === undefined || typeof c.jti === 'string')
  );
}

/**
 * A stable id for revoking a token: its `jti`, or for tokens without one (the Python template's)
 * a hash of the token in its one canonical spelling. The verifier ignores the unused low bits of
 * the signature's last base64url character, so four strings carry the same signature bytes and
 * verify alike; hashing the string as presented let a revoked token back in under another
 * spelling. So the signature is decoded and re-encoded first: the id depends on the signature's
 * bytes, never on how they were written. (The header and payload need no such step: they are the
 * signed text, so any other spelling of them fails verification.) A token that arrives already
 * canonical — every token a JWT library mints — keeps the id the previous version stored for it,
 * so revocations recorded before this change still hold.
 */
export function tokenId(token: string, claims: AccessClaims): string {
  if (claims.jti !== undefined) return claims.jti;
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url').toString('base64url');
  const canonical = `${token.slice(0, dot)}.${signature}`;
  return `sha256:${createHash('sha256').update(canonical).digest('base64url')}`;
}

/**
 * When a token was issued: `iat`, or for tokens without it, `exp` minus the configured lifetime
 * (the Python template sets no `iat`; this errs towards treating them as issued earlier).
 */
export function issuedAt(claims: AccessClaims, lifetimeSeconds: number): number {
  return claims.iat ?? claims.exp - lifetimeSeconds;
}
