/** A Prometheus-style histogram held as plain data so it can be persisted and compared. */
export type Histogram = {
  /** Non-cumulative count per upper bound of `bounds`, plus one last slot for +Inf. */
  counts: number[];
  sum: number;
  count: number;
};

export function emptyHistogram(bounds: readonly number[]): Histogram {
  return { counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
}

export function observe(histogram: Histogram, bounds: readonly number[], value: number): Histogram {
  const counts = histogram.counts.slice();
  let slot = bounds.findIndex((bound) => value <= bound);
  if (slot === -1) slot = bounds.length;
  counts[slot] = (counts[slot] ?? 0) + 1;
  return { counts, sum: histogram.sum + value, count: histogram.count + 1 };
}
