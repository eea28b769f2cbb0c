/*
 * A stand-in for the Python template's SSEXI.js 1.0.0, written from what that library does (its
 * README, and "Coming from the Python template" in ours), not copied from it. Its behaviours that
 * matter against this server:
 * - `sx-post`: `fetch(endpoint, {method: 'POST', body: new FormData(form)})` — always multipart,
 *   the form's own fields and nothing else (no CSRF header); `sx:form-success` on a 2xx, then
 *   `form.reset()` unless `sx-swap` names something other than "none"; `sx:form-error` otherwise.
 * - `sx-connect`: a plain `EventSource` (unnamed events only, no resume of its own), reopened 5 s
 *   after an error.
 * - `js`: `exec` runs through `eval`; any other key sets `window[key]`.
 * - `html`: for each id, the fragment is parsed into a <div>; the first element with the target's
 *   tag *anywhere* in it gives the target its children and attributes (the target keeps its id).
 *   No such element, or a value that is not a string (this app's `{content, swap}` objects become
 *   "[object Object]"), changes nothing and says nothing.
 * - a whole message fails as `sx:parse-error` when anything in it throws.
 */
(() => {
  const send = (element, type, detail) =>
    element.dispatchEvent(new CustomEvent(`sx:${type}`, { detail, cancelable: true, bubbles: true }));

  const applyHtml = (element, id, html) => {
    const target = document.getElementById(id);
    if (!target) return send(element, 'html-error', { elementId: id, error: 'Element not found' });
    const temp = document.createElement('div');
    temp.innerHTML = html;
    const root = temp.querySelector(target.tagName);
    if (!root) return;
    target.replaceChildren(...root.childNodes);
    for (const { name } of [...target.attributes]) if (name !== 'id') target.removeAttribute(name);
    for (const { name, value } of [...root.attributes]) if (name !== 'id') target.setAttribute(name, value);
    send(element, 'html-updated', { elementId: id, targetElement: target });
  };

  const connect = (element) => {
    if (element.__sx) return;
    element.__sx = true;
    const endpoint = element.getAttribute('sx-connect');
    const source = new EventSource(endpoint);
    source.onopen = () => send(element, 'connected', { endpoint });
    source.onerror = (error) => {
      send(element, 'error', { error, endpoint });
      source.close();
      element.__sx = false;
      setTimeout(() => connect(element), 5000);
    };
    source.onmessage = (event) => {
      try {
        const update = JSON.parse(event.data);
        if (!send(element, 'message', { update, endpoint })) return;
        for (const [key, value] of Object.entries(update.js ?? {})) {
          if (key === 'exec') {
            // biome-ignore lint/security/noGlobalEval: the original library's way, which the app's CSP refuses
            eval(value);
            send(element, 'js-exec', { code: value });
          } else {
            window[key] = value;
            send(element, 'js-var', { key, value });
          }
        }
        for (const [id, html] of Object.entries(update.html ?? {})) applyHtml(element, id, html);
        send(element, 'processed', { update });
      } catch (error) {
        send(element, 'parse-error', { error, data: event.data });
      }
    };
    send(element, 'initialized', { endpoint });
  };

  const initForm = (form) => {
    if (form.__sx) return;
    form.__sx = true;
    const endpoint = form.getAttribute('sx-post');
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!send(form, 'form-submit', { endpoint })) return;
      try {
        const response = await fetch(endpoint, { method: 'POST', body: new FormData(form) });
        if (response.ok) {
          send(form, 'form-success', { endpoint, response });
          if ((form.getAttribute('sx-swap') || 'none') === 'none') form.reset();
        } else send(form, 'form-error', { endpoint, error: response.statusText });
      } catch (error) {
        send(form, 'form-error', { endpoint, error });
      }
    });
  };

  const process = (node) => {
    if (!(node instanceof Element) || node.closest('[sx-ignore]')) return;
    for (const element of [node, ...node.querySelectorAll('[sx-connect]')])
      if (element.matches('[sx-connect]')) connect(element);
    for (const form of [node, ...node.querySelectorAll('[sx-post]')])
      if (form.matches('[sx-post]')) initForm(form);
  };

  document.addEventListener('DOMContentLoaded', () => {
    new MutationObserver((records) => {
      for (const record of records) record.addedNodes.forEach(process);
    }).observe(document.documentElement, { childList: true, subtree: true });
    process(document.body);
  });
  window.SSEXI = { process, version: '1.0.0' };
})();
