/**
 * The small counting interface features use (`app.metrics`), so nothing but this folder imports
 * prom-client. Every app has its own registry (tests build many apps in one process); with
 * METRICS_API_KEY unset nothing is registered at all and every call is a no-op — and prom-client
 * is never loaded (prometheus.ts is imported only when metrics are on).
 */

export type Labels = Record<string, string | number>;

export interface MetricCounter {
  inc(labels?: Labels, value?: number): void;
}

export interface MetricHistogram {
  observe(labels: Labels, value: number): void;
}

export interface Metrics {
  /** A counter (name ends in `_total`); asking twice for one name returns the same counter. */
  counter(name: string, help: string, labelNames?: readonly string[]): MetricCounter;
  /** A gauge whose value is read when scraped. */
  gauge(name: string, help: string, read: () => number): void;
  /** A histogram of seconds (or another unit, by `buckets`). */
  histogram(name: string, help: string, labelNames: readonly string[], buckets?: number[]): MetricHistogram;
  /** The Prometheus text exposition, and its content type; null when metrics are off. */
  expose(): Promise<{ body: string; contentType: string }> | null;
}

const NOOP_COUNTER: MetricCounter = { inc() {} };
const NOOP_HISTOGRAM: MetricHistogram = { observe() {} };

/** Metrics that cost nothing: METRICS_API_KEY is unset. */
export function createNoopMetrics(): Metrics {
  return {
    counter: () => NOOP_COUNTER,
    gauge() {},
    histogram: () => NOOP_HISTOGRAM,
    expose: () => null,
  };
}
