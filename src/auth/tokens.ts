/**
 * Access tokens: HS256 JWTs with `sub` = username and integer `exp`, the claims python-jose
 * writes and reads, so this app and the Python template accept each other's tokens under one
 * SECRET_KEY. We add `iat` and a random `jti` (python-jose ignores both) so one token can be
 * revoked and "log out everywhere" can compare issue times.
 *
 * Verification pins the algorithm (`alg: none`, RS/HS confusion and every other algorithm are
 * refused whatever the header says), requires `exp` and `sub`, and never throws for a bad token:
 * it returns null. Verified tokens are remembered (bounded, keyed by the token's exact text,
 * each answer re-checked against `exp` and `nbf` at every use), with the id the session is known
 * by, so a request presenting a known token costs a map lookup: no HMAC, no JSON parse, and no
 * hash of the token for a cache key (fast-jwt's own cache hashes every token it looks up).
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
  /** `verify`, with the token's id (`tokenId`), for the same answers. */
  verifyWithId(token: string): VerifiedToken | null;
  /** Lifetime of new tokens, in seconds. */
  readonly lifetimeSeconds: number;
}

export interface VerifiedToken {
  claims: AccessClaims;
  id: string;
}

/** A remembered verification: the answer and the times (ms) between which it holds. */
interface Verified extends VerifiedToken {
  from: number;
  until: number;
}

const MAX_TOKEN_LENGTH = 4096;
/** Verified tokens remembered; past it the oldest are forgotten (verified again when next seen). */
const VERIFIED_ENTRIES = 10_000;
/** header.payload.signature in base64url: anything else is refused before the verifier sees it. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

export function createTokenService(options: { secret: string; lifetimeHours: number }): TokenService {
  const lifetimeSeconds = Math.max(1, Math.round(options.lifetimeHours * 3600));
  const signer = createSigner({ key: options.secret, algorithm: 'HS256' });
  const verifier = createVerifier({
    key: options.secret,
    algorithms: ['HS256'],
    requiredClaims: ['exp', 'sub'],
  });
  const known = new Map<string, Verified>();

  const verifyWithId = (token: string): VerifiedToken | null => {
    const now = Date.now();
    const remembered = known.get(token);
    // The same bounds fast-jwt checks: valid from `nbf` up to and including `exp`.
    if (remembered !== undefined) {
      if (now >= remembered.from && now <= remembered.until) return remembered;
      if (now > remembered.until) known.delete(token);
      return null;
    }
    // The verifier reports a malformed token by throwing, and an exception costs more than
    // the rest of a request: API keys and junk sent as bearer tokens stop here.
    if (token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) return null;
    let claims: unknown;
    try {
      claims = verifier(token);
    } catch {
      return null;
    }
    if (!isAccessClaims(claims)) return null;
    const nbf = (claims as { nbf?: unknown }).nbf;
    const entry: Verified = {
      claims,
      id: tokenId(token, claims),
      from: typeof nbf === 'number' ? nbf * 1000 : 0,
      until: claims.exp * 1000,
    };
    if (known.size >= VERIFIED_ENTRIES) known.delete(known.keys().next().value as string);
    known.set(token, entry);
    return entry;
  };

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
    verify: (token) => verifyWithId(token)?.claims ?? null,
    verifyWithId,
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
