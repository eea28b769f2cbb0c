/** Summaries for bench samples. Pure functions. */

/** The p-th percentile (0–100) of `values` by nearest rank; NaN when there are none. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** The median of the finite values (NaN when none is): runs that failed do not count. */
export function median(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = finite.length >> 1;
  const upper = finite[mid] as number;
  return finite.length % 2 === 1 ? upper : ((finite[mid - 1] as number) + upper) / 2;
}

/** app / baseline, NaN when either is missing. */
export function ratio(app: number, baseline: number): number {
  return Number.isFinite(app) && Number.isFinite(baseline) && baseline !== 0 ? app / baseline : Number.NaN;
}

/** Milliseconds on the monotonic clock every process on this host shares (CLOCK_MONOTONIC). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
