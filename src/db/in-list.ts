/**
 * Longest `IN (…)` list sent in one query: far below SQLite's and PostgreSQL's bound-parameter
 * limits (32 766 and 65 535), and small enough to keep each statement cheap to plan.
 */
export const IN_LIST_CHUNK = 500;

/** `items` in consecutive slices of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const slices: T[][] = [];
  for (let i = 0; i < items.length; i += size) slices.push(items.slice(i, i + size));
  return slices;
}
