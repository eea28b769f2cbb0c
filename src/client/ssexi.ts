/**
 * SSEXI.js: declarative Server-Sent Events for server-rendered pages.
 *
 * `<body sx-connect="/events">` opens one stream per endpoint (shared by elements and, through a
 * leader tab, by every tab of the origin); each message is `{"html": {id: html}, "js": {…}}`;
 * `<form sx-post="/url">` submits with fetch. Everything is announced with cancelable `sx:*`
 * events. See docs/ssexi.md.
 */
import { type ApplyContext, applyMessage } from './apply.ts';
import { emit, goToLogin, meta } from './dom.ts';
import { initForm } from './forms.ts';
import { createSource, type Source } from './source.ts';
import type { Morph } from './swap.ts';

export interface SsexiApi {
  /** Initialises sx-* elements in a subtree (added nodes are processed automatically). */
  process(node: Node): void;
  /** Open connections by absolute endpoint URL. */
  connections: Map<string, Source>;
  version: string;
  /** Set by ssexi-morph.js; loaded on the first `morph` swap when absent. */
  morph?: Morph;
}

declare global {
  interface Window {
    SSEXI?: SsexiApi;
  }
}

(() => {
  if (window.SSEXI?.version) return; // loaded twice
  // Captured now: currentScript is only set while this script first runs.
  const script = document.currentScript as HTMLScriptElement | null;
  const nonce = meta('csp-nonce') || script?.nonce || '';
  const connections = new Map<string, Source>();
  const seen = new WeakSet<Element>();
  let queue: Promise<unknown> = Promise.resolve();
  let morphLoad: Promise<Morph | undefined> | undefined;

  const loadMorph = () =>
    new Promise<Morph | undefined>((resolve) => {
      const src = script?.src.replace(/ssexi(\.min)?\.js(?=[?#]|$)/, 'ssexi-morph$1.js');
      if (!src) return resolve(undefined);
      const tag = document.createElement('script');
      tag.src = src;
      tag.nonce = nonce;
      tag.onload = tag.onerror = () => resolve(api.morph);
      document.head.append(tag);
    });

  const ctx: ApplyContext = {
    nonce,
    morph: () => {
      morphLoad ??= api.morph ? Promise.resolve(api.morph) : loadMorph();
      return morphLoad;
    },
  };

  const first = (source: Source) => source.els.values().next().value ?? document.body;

  // Set when this page starts a cross-document navigation (Navigation API, where available).
  // The logout link is one: its own `auth` event must not cut that navigation short (the
  // response clears the cookie), so the login page is then only a fallback should the page stay.
  let leaving = false;
  (window as { navigation?: EventTarget }).navigation?.addEventListener('navigate', (e) => {
    leaving ||= !(e as Event & { destination: { sameDocument: boolean } }).destination.sameDocument;
  });
  const leave = (redirect?: string) =>
    leaving ? setTimeout(goToLogin, 3000, redirect) : goToLogin(redirect);

  const deliver = (source: Source, type: string, data: string) => {
    const el = first(source);
    if (type === 'message') {
      // One queue for the page keeps messages in order even when a morph has to load first;
      // an unexpected failure is reported like an uncaught error without stalling the queue.
      queue = queue.then(() => applyMessage(el, source.url, data, ctx)).catch(reportError);
    } else if (type === 'renew') {
      // The session is past half its life and this page may only hold a stream: renew it with a
      // same-origin POST (the answer sets the new cookie; the server extends the stream). One
      // tab does it for all: they share the cookie, and the leader holds the stream.
      let detail: { url?: string } = {};
      try {
        detail = JSON.parse(data);
      } catch {}
      if (source.leader && typeof detail.url === 'string' && emit(el, 'renew', detail)) renew(detail.url, 0);
    } else if (type === 'auth' || type === 'reload') {
      let detail: { redirect?: string } = {};
      try {
        detail = JSON.parse(data);
      } catch {}
      // The session is over whatever listeners decide: never reconnect with a dead credential.
      if (type === 'auth') source.end();
      if (emit(el, type, detail)) type === 'auth' ? leave(detail.redirect) : location.reload();
    }
  };

  /** POSTs to the session's renewal URL (same origin only), retrying a failed attempt twice. */
  const renew = (url: string, attempt: number) => {
    if (new URL(url, location.href).origin !== location.origin) return;
    fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'x-csrf-token': meta('csrf-token'), 'sx-request': 'true' },
    })
      .then((r) => r.status < 500 || Promise.reject())
      .catch(() => attempt < 2 && setTimeout(renew, 1000 * 2 ** attempt, url, attempt + 1));
  };

  const open = (url: string, el: Element): Source => {
    const source: Source = createSource(
      url,
      el.getAttribute('sx-share') !== 'false',
      el.getAttribute('sx-last-id') ?? '',
      {
        deliver: (type, data) => deliver(source, type, data),
        connected: () => emit(first(source), 'connected', { endpoint: url }),
        error: (error, status) => emit(first(source), 'error', { error, endpoint: url, status }),
        closed: () => connections.delete(url),
      },
    );
    connections.set(url, source);
    source.start(); // everything it reports arrives asynchronously, after `el` has joined
    return source;
  };

  const connect = (el: Element) => {
    const url = new URL(el.getAttribute('sx-connect') ?? '', location.href).href;
    (connections.get(url) ?? open(url, el)).els.add(el);
    emit(el, 'initialized', { endpoint: url });
  };

  const process = (node: Node) => {
    if (!(node instanceof Element || node instanceof Document)) return;
    const found = node.querySelectorAll('[sx-connect],form[sx-post]');
    for (const el of node instanceof Element ? [node, ...found] : found) {
      if (seen.has(el) || el.closest('[sx-ignore]')) continue;
      if (el.hasAttribute('sx-connect') && emit(el, 'init', {})) {
        seen.add(el);
        connect(el);
      }
      if (el instanceof HTMLFormElement && el.hasAttribute('sx-post') && emit(el, 'form-init', {})) {
        seen.add(el);
        initForm(el);
        emit(el, 'form-initialized', { endpoint: el.getAttribute('sx-post') });
      }
    }
  };

  /** Elements removed from the page stop using their endpoint; the last one closes it. */
  const release = () => {
    for (const source of connections.values()) {
      for (const el of source.els)
        if (!el.isConnected) {
          source.els.delete(el);
          seen.delete(el);
        }
      if (!source.els.size) source.close();
    }
  };

  const each = (action: (source: Source) => void) => () => connections.forEach(action);
  const api: SsexiApi = Object.assign(window.SSEXI ?? {}, { process, connections, version: '2.0.0' });
  window.SSEXI = api;

  addEventListener(
    'online',
    each((s) => s.retryNow()),
  );
  addEventListener(
    'offline',
    each((s) => s.drop()),
  );
  document.addEventListener('visibilitychange', () => document.hidden || each((s) => s.retryNow())());
  // Closing on pagehide frees the connection (and the leader lock) at once and keeps the page
  // eligible for the back/forward cache; pageshow from that cache picks up where it left off.
  addEventListener(
    'pagehide',
    each((s) => s.stop()),
  );
  addEventListener('pageshow', (e) => {
    leaving = false;
    if (e.persisted) each((s) => s.start())();
  });
  // A frozen background tab cannot relay: give the stream to another tab until it resumes.
  document.addEventListener(
    'freeze',
    each((s) => s.stop()),
  );
  document.addEventListener(
    'resume',
    each((s) => s.start()),
  );
  document.addEventListener('sx:process', (e) => process(e.target as Node));

  const start = () => {
    new MutationObserver((records) => {
      for (const record of records) record.addedNodes.forEach(process);
      release();
    }).observe(document.documentElement, { childList: true, subtree: true });
    process(document.body);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
