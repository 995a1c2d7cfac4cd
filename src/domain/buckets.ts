/** Upper bounds of the incident and maintenance duration histograms, in seconds (1 min … 3 days). */
export const DURATION_BUCKETS: readonly number[] = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200];
