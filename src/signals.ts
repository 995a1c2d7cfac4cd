/**
 * Signals caught from the first line of main, each held until its handler is ready. Without it,
 * a SIGHUP (whose default action ends the process) while the modules load or the store opens
 * would kill the exporter with nothing logged.
 */
export class EarlySignals {
  private readonly queued = new Set<NodeJS.Signals>();
  private readonly handlers = new Map<NodeJS.Signals, (signal: NodeJS.Signals) => void>();

  constructor(signals: readonly NodeJS.Signals[]) {
    for (const signal of signals) process.on(signal, this.receive);
  }

  private readonly receive = (signal: NodeJS.Signals): void => {
    const handler = this.handlers.get(signal);
    if (handler) handler(signal);
    else this.queued.add(signal);
  };

  /** From now on `signal` goes to `handler`; if it came before, the handler gets it now, once. */
  handle(signal: NodeJS.Signals, handler: (signal: NodeJS.Signals) => void): void {
    this.handlers.set(signal, handler);
    if (this.queued.delete(signal)) handler(signal);
  }
}

/**
 * A second SIGINT or SIGTERM within this long of the first is the same one delivered twice, not a
 * user's "now": under `npm start` (or `npx`) a Ctrl-C reaches node from the terminal and again
 * from npm, which forwards the SIGINT it got to its child. A person's second Ctrl-C, sent because
 * the shutdown takes long, comes later.
 */
export const SIGNAL_ECHO_MS = 250;

/** Tells a second stop signal from the echo of the first (see SIGNAL_ECHO_MS). */
export function secondSignal(): { first(): void; isSecond(): boolean } {
  let firstAt: number | undefined;
  return {
    first: () => {
      firstAt = performance.now();
    },
    isSecond: () => firstAt !== undefined && performance.now() - firstAt >= SIGNAL_ECHO_MS,
  };
}
