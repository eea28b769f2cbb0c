/**
 * Open-redirect guard: only same-origin relative paths are followed. `//evil.example`,
 * `/\evil.example` (browsers treat `\` as `/`), absolute URLs, and anything with control
 * characters are refused.
 */
export function safeRedirectPath(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return null;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return null;
  return value;
}
