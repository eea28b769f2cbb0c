/**
 * Feedback for `sx-post` forms: SSEXI reports each submission's outcome with `sx:form-success` /
 * `sx:form-error`; this shows it in the form's status line (a live region, so it is announced)
 * and, when the server names a field, next to that field (`aria-invalid`, its error slot), in
 * words rather than the schema's.
 */
import { describeRule } from './field-rules.ts';

interface FormEventDetail {
  endpoint: string;
  response?: Response;
  error?: unknown;
}

const NETWORK_ERROR = 'The server could not be reached. Check your connection and try again.';

export function initFormFeedback(): void {
  document.addEventListener('sx:form-submit', (event) => {
    const form = event.target as HTMLFormElement;
    report(form, '', 'success');
    clearFieldErrors(form);
  });
  document.addEventListener('sx:form-success', (event) => {
    const form = event.target as HTMLFormElement;
    report(form, form.dataset.success ?? 'Saved.', 'success');
    closeEditor(form);
  });
  document.addEventListener('sx:form-error', async (event) => {
    const form = event.target as HTMLFormElement;
    const { response, error } = (event as CustomEvent<FormEventDetail>).detail;
    // 401/403 send the page to the login form (SSEXI's default): nothing to show.
    if (response && (response.status === 401 || response.status === 403)) return;
    // The original SSEXI.js reports a refusal by its status text alone, without the response.
    const message = response
      ? await errorMessage(response)
      : { text: typeof error === 'string' && error ? `The server refused this (${error}).` : NETWORK_ERROR };
    const field = fieldNamed(form, message.field);
    if (field) {
      const text = `${labelOf(field)} ${message.text}`;
      showFieldError(field, text);
      report(form, text, 'error', true);
      field.focus();
    } else report(form, message.text, 'error');
  });
}

/** `{error}` from a JSON answer, split into the field it names (Ajv's `body/<name> …`) and text. */
async function errorMessage(response: Response): Promise<{ field?: string; text: string }> {
  let text = response.statusText || `Request failed (${response.status})`;
  try {
    const body = (await response.clone().json()) as { error?: unknown };
    if (typeof body.error === 'string') text = body.error;
  } catch {}
  const match = /^Invalid request: body\/(\w+) (.+)$/.exec(text);
  if (match?.[1] && match[2]) return { field: match[1], text: describeRule(match[2]) };
  return { text };
}

/**
 * An inline editor (a `<details data-close-on-success>`, as a course's rename) closes once its
 * form has been saved; focus inside it goes back to the control that opened it.
 */
function closeEditor(form: HTMLFormElement): void {
  const details = form.closest<HTMLDetailsElement>('details[data-close-on-success]');
  if (!details?.open) return;
  const hadFocus = details.contains(document.activeElement);
  details.open = false;
  if (hadFocus) details.querySelector<HTMLElement>(':scope > summary')?.focus();
}

function fieldNamed(form: HTMLFormElement, name: string | undefined): HTMLInputElement | null {
  if (!name) return null;
  const field = form.elements.namedItem(name);
  return field instanceof HTMLInputElement && field.type !== 'hidden' ? field : null;
}

function labelOf(field: HTMLInputElement): string {
  return field.labels?.[0]?.textContent?.trim() ?? field.name;
}

function showFieldError(field: HTMLInputElement, text: string): void {
  field.setAttribute('aria-invalid', 'true');
  const slot = document.getElementById(`${field.id}-error`);
  if (slot) {
    slot.textContent = text;
    slot.hidden = false;
  }
}

function clearFieldErrors(form: HTMLFormElement): void {
  for (const field of form.querySelectorAll<HTMLInputElement>('[aria-invalid="true"]')) {
    field.removeAttribute('aria-invalid');
    const slot = document.getElementById(`${field.id}-error`);
    if (slot) {
      slot.textContent = '';
      slot.hidden = true;
    }
  }
}

/** Writes the form's status line; `quiet` announces it without showing it twice. */
function report(form: HTMLFormElement, text: string, kind: 'success' | 'error', quiet = false): void {
  const status = form.querySelector<HTMLElement>('[data-form-status]');
  if (!status) return;
  status.dataset.kind = kind;
  status.classList.toggle('visually-hidden', quiet);
  status.textContent = text;
}
