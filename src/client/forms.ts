import { emit, goToLogin, meta } from './dom.ts';

/**
 * Makes an `sx-post` form submit with fetch: the CSRF token from `<meta name="csrf-token">` goes
 * in `x-csrf-token` (the form's hidden `_csrf` field is sent too), the submitter is marked
 * `aria-disabled` and the form `aria-busy` while in flight (a second submit is ignored; the
 * `disabled` attribute would take focus off a button pressed from the keyboard), the form is reset on
 * success when `sx-swap` is `none` or absent, and a 401/403 sends the page to the login form.
 * The result usually arrives over the stream, which is why the response body is not swapped.
 */
export function initForm(form: HTMLFormElement): void {
  const endpoint = form.getAttribute('sx-post') ?? '';
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (form.ariaBusy === 'true' || !emit(form, 'form-submit', { endpoint })) return;
    const submitter = event.submitter as HTMLButtonElement | null;
    const data = new FormData(form, submitter);
    form.ariaBusy = 'true';
    submitter?.setAttribute('aria-disabled', 'true');
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        // Multipart only when the form asks for it: urlencoded is what plain forms send.
        body: form.enctype === 'multipart/form-data' ? data : new URLSearchParams(data as never),
        headers: { 'x-csrf-token': meta('csrf-token'), 'sx-request': 'true' },
        credentials: 'same-origin',
      });
      if (response.ok) {
        if (
          emit(form, 'form-success', { endpoint, response }) &&
          (form.getAttribute('sx-swap') ?? 'none') === 'none'
        )
          form.reset();
      } else if (
        emit(form, 'form-error', { endpoint, error: response.statusText, response }) &&
        (response.status === 401 || response.status === 403)
      )
        goToLogin();
    } catch (error) {
      emit(form, 'form-error', { endpoint, error });
    } finally {
      form.ariaBusy = null;
      submitter?.removeAttribute('aria-disabled');
    }
  });
}
