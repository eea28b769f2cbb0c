/**
 * Playwright helpers: one Chromium per test file, pages that record every `sx:*` event, CSP
 * violation, console error and uncaught exception, and event-driven waits on those records.
 */
import { existsSync } from 'node:fs';
import { after, before, type TestContext } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { type PageOptions, startFixture } from './fixture-server.ts';

const EXECUTABLE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why browser tests are skipped here, or undefined when they can run (CI requires them). */
export const skipReason =
  existsSync(EXECUTABLE) || process.env.REQUIRE_ALL_TESTS === '1'
    ? undefined
    : `no Chromium at ${EXECUTABLE} (apt-get install chromium)`;

export const SX_EVENTS = [
  'init',
  'initialized',
  'connected',
  'message',
  'js-exec',
  'js-var',
  'html-updated',
  'html-error',
  'parse-error',
  'error',
  'processed',
  'auth',
  'renew',
  'reload',
  'form-init',
  'form-initialized',
  'form-submit',
  'form-success',
  'form-error',
] as const;

/** What the page keeps of each sx:* event (details hold elements and responses). */
export interface RecordedEvent {
  type: string;
  target: string;
  endpoint?: string;
  elementId?: string;
  key?: string;
  status?: number;
}

declare global {
  interface Window {
    __sx: RecordedEvent[];
    __violations: string[];
  }
}

function recordEvents(types: readonly string[]) {
  window.__sx = [];
  window.__violations = [];
  for (const type of types) {
    document.addEventListener(
      `sx:${type}`,
      (event) => {
        const detail = (event as CustomEvent).detail ?? {};
        const target = event.target as Element;
        window.__sx.push({
          type,
          target: target.id || target.tagName?.toLowerCase(),
          endpoint: detail.endpoint,
          elementId: detail.elementId,
          key: detail.key,
          status: detail.status ?? detail.response?.status,
        });
      },
      true,
    );
  }
  document.addEventListener('securitypolicyviolation', (event) => {
    window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
  });
}

/**
 * One Chromium for the calling test file: launched before its tests, closed after them.
 * `backForwardCache` turns the cache back on (Playwright disables it by default).
 */
export function useBrowser(options: { backForwardCache?: boolean } = {}): () => Browser {
  let browser: Browser | undefined;
  before(async () => {
    if (skipReason) return;
    browser = await chromium.launch({
      executablePath: EXECUTABLE,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
      ],
      ...(options.backForwardCache ? { ignoreDefaultArgs: ['--disable-back-forward-cache'] } : {}),
    });
  });
  after(() => browser?.close());
  return () => {
    if (!browser) throw new Error('the browser is not running');
    return browser;
  };
}

export interface WatchedPage {
  page: Page;
  /** Console errors and uncaught exceptions, in order. */
  errors: string[];
  events(): Promise<RecordedEvent[]>;
  violations(): Promise<string[]>;
  /** Resolves once `count` sx:`type` events have been recorded on this document. */
  waitForEvent(type: string, count?: number): Promise<void>;
}

/** A fresh browser context (own cookies, storage, locks and channels), closed after the test. */
export async function newContext(browser: Browser, t: TestContext): Promise<BrowserContext> {
  const context = await browser.newContext();
  t.after(() => context.close());
  await context.addInitScript(recordEvents, SX_EVENTS);
  return context;
}

/** Opens `url` in a new tab of `context`, watching for errors from the first byte. */
export async function openPage(context: BrowserContext, url: string): Promise<WatchedPage> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${message.text()} @ ${message.location().url}`);
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  return {
    page,
    errors,
    events: () => page.evaluate(() => window.__sx),
    violations: () => page.evaluate(() => window.__violations),
    waitForEvent: async (type, count = 1) => {
      await page.waitForFunction(
        ([name, n]) => window.__sx.filter((event) => event.type === name).length >= n,
        [type, count] as const,
        { polling: 25, timeout: 10_000 },
      );
    },
  };
}

/**
 * The usual start of a fixture test: a fresh fixture server and its page `/p` (built from
 * `options`) in a fresh context of `browser`; both are closed after the test.
 */
export async function openFixturePage(t: TestContext, browser: Browser, options: PageOptions) {
  const fx = await startFixture();
  t.after(fx.close);
  const tab = await openPage(await newContext(browser, t), fx.page('/p', options));
  return { fx, tab };
}
