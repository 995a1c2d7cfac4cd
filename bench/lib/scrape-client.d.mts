export type TimedResponse = {
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** Body length after any chunked framing, before any decoding. */
  bytes: number;
  /** From the request's first byte to the response's last. */
  ms: number;
};

export function timedGet(origin: string, path: string, headers?: Record<string, string>): Promise<TimedResponse>;
export function closeScrapeConnections(): void;
