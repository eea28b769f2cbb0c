/**
 * The browser security policy every response carries: one definition for the hooks that set it
 * on responses Fastify builds (helmet, in plugin.ts) and for the answers written straight to the
 * socket, which no hook ever sees (client-errors.ts). HTML pages add per-response nonces to
 * `script-src` and `style-src`; nothing else differs between responses.
 */

/** CSP directives, helmet-style (camelCase names); `null` leaves a directive out. */
export function cspDirectives(debug: boolean): Record<string, string[] | null> {
  return {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    objectSrc: ["'none'"],
    scriptSrcAttr: ["'none'"],
    upgradeInsecureRequests: debug ? null : [],
  };
}

export const HSTS_MAX_AGE_SECONDS = 31_536_000;

/**
 * The full header set for a response without nonces (anything but an HTML page), as helmet
 * writes it with the options plugin.ts gives it.
 */
export function staticSecurityHeaders(debug: boolean): Record<string, string> {
  const csp = Object.entries(cspDirectives(debug))
    .filter((entry): entry is [string, string[]] => entry[1] !== null)
    .map(([name, values]) => [kebab(name), ...values].join(' '))
    .join(';');
  return {
    'content-security-policy': csp,
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'referrer-policy': 'same-origin',
    ...(debug ? {} : { 'strict-transport-security': `max-age=${HSTS_MAX_AGE_SECONDS}; includeSubDomains` }),
    'x-content-type-options': 'nosniff',
    'x-dns-prefetch-control': 'off',
    'x-download-options': 'noopen',
    'x-frame-options': 'DENY',
    'x-permitted-cross-domain-policies': 'none',
    'x-xss-protection': '0',
  };
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
