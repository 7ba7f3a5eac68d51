/** Small PromQL helpers so that every dashboard writes rates and quantiles the same way. */

/** `sum by (<by>) (rate(<metric>{<selector>}[$__rate_interval]))` */
export function sumRate(metric: string, selector = '', by: readonly string[] = []): string {
  const grouping = by.length > 0 ? ` by (${by.join(', ')})` : '';
  return `sum${grouping} (rate(${metric}{${selector}}[$__rate_interval]))`;
}

/** The q-quantile of a histogram, `by` kept besides `le`. */
export function quantile(q: number, histogram: string, selector = '', by: readonly string[] = []): string {
  return `histogram_quantile(${q}, ${sumRate(`${histogram}_bucket`, selector, ['le', ...by])})`;
}

/** The ratio of two rates, 0 when nothing happened rather than no value. */
export function ratio(numerator: string, denominator: string): string {
  return `(${numerator}) / (${denominator})`;
}

/** Joins label matchers, skipping empty ones. */
export function sel(...matchers: readonly string[]): string {
  return matchers.filter((m) => m.length > 0).join(', ');
}
