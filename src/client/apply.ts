import { emit } from './dom.ts';
import type { SseMessage } from './protocol.ts';
import { type Morph, swapHtml } from './swap.ts';

export interface ApplyContext {
  /** The CSP nonce given to exec scripts. */
  nonce: string;
  /** Resolves to the morph function, loading it on first use; undefined when unavailable. */
  morph(): Promise<Morph | undefined>;
}

/**
 * Runs server code under a strict CSP without `eval`: an inline script carrying the page's nonce
 * is allowed by `script-src 'nonce-…'` (also with 'strict-dynamic'); without the nonce the
 * browser blocks it and reports a violation, which is the point.
 */
export function execScript(code: string, nonce: string): void {
  const script = document.createElement('script');
  script.nonce = nonce;
  script.textContent = code;
  document.head.append(script);
  script.remove();
}

/**
 * Applies one message's JSON text, dispatching the seed's events on `source` (the sx-connect
 * element): `message` (cancel skips the message), `js-exec` / `js-var` (cancel skips that key),
 * `html-updated` / `html-error` per target, then `processed`.
 */
export async function applyMessage(source: Element, endpoint: string, data: string, ctx: ApplyContext) {
  let update: SseMessage;
  try {
    update = JSON.parse(data);
    if (typeof update !== 'object' || !update) throw new TypeError('not a JSON object');
  } catch (error) {
    emit(source, 'parse-error', { error, data });
    return;
  }
  if (!emit(source, 'message', { update, endpoint })) return;
  for (const [key, value] of Object.entries(update.js ?? {})) {
    if (key === 'exec') {
      if (emit(source, 'js-exec', { code: value })) execScript(String(value), ctx.nonce);
    } else if (key !== '__proto__' && emit(source, 'js-var', { key, value })) {
      (window as unknown as Record<string, unknown>)[key] = value;
    }
  }
  for (const [elementId, value] of Object.entries(update.html ?? {})) {
    const { content = '', swap } = typeof value === 'string' ? { content: value } : (value ?? {});
    const targetElement = document.getElementById(elementId);
    if (!targetElement) {
      emit(source, 'html-error', { elementId, error: 'Element not found' });
      continue;
    }
    try {
      swapHtml(targetElement, content, swap, swap === 'morph' ? await ctx.morph() : undefined);
      emit(source, 'html-updated', { elementId, targetElement, swap });
    } catch (error) {
      emit(source, 'html-error', { elementId, error });
    }
  }
  emit(source, 'processed', { update });
}
