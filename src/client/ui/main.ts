/**
 * The page behaviour of the app's own views, bundled to /static/app.js (every page loads it,
 * deferred, before SSEXI.js): theme toggle, live-connection indicator, toasts, feedback for
 * `sx-post` forms, and notices for pushed changes. Everything hangs off markup the Nunjucks
 * components render, and everything degrades to plain HTML without it.
 */
import { initConnectionIndicator } from './connection.ts';
import { initFormFeedback } from './form-feedback.ts';
import { initLiveNotices } from './live-notices.ts';
import { initThemeToggle } from './theme.ts';
import { initToasts } from './toasts.ts';

const toasts = initToasts(document.getElementById('toasts'));
initThemeToggle(document.querySelectorAll<HTMLButtonElement>('.theme-toggle'));
initConnectionIndicator(document.getElementById('connection'));
initFormFeedback();
initLiveNotices(toasts);
