import type { ServerResponse } from 'node:http';

// How many large answers (a scrape, the state API, the landing page) the process holds at once.
// A 10,000-component scrape is about 19 MiB of text, rendered again for each state version, and
// it stays in memory until the socket has taken it: 16 clients flooding /metrics while webhooks
// changed the state every few milliseconds held enough versions to take the exporter from 208 to
// 294 MiB of RSS in two seconds, and the kernel killed it under a 256 MiB limit (bench section 8);
// the state API, rebuilt for every webhook's delivery, did the same in a smaller way. So such a
// request waits for a slot before it renders; the slot is free again once its answer was handed
// to the operating system, or once the client went away. A client that reads so slowly that it
// still holds its slot after `holdMs` is disconnected: no scraper or reader waits that long
// (Prometheus' scrape timeout is at most its interval), and the answer it holds must not stay for
// as long as the client likes. What they hold is then bounded by the slots, not by how many ask.

/** Prometheus servers of an HA pair scrape at once; more wait their turn (a few milliseconds each). */
export const RESPONSE_SLOTS = 2;
/** How long an answer may take to be read before its client is disconnected. */
export const RESPONSE_HOLD_MS = 30_000;
/** The longest pause a slot takes before it serves a request that waited (see ResponseSlots.pauseFactor). */
export const MAX_PAUSE_MS = 1_000;

export class ResponseSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  /**
   * `pauseFactor`: when requests are waiting, a slot given back rests for that many times as long
   * as its answer held it (at most MAX_PAUSE_MS) before it serves the next, so that while clients
   * crowd in, their answers take at most 1 / (1 + pauseFactor) of each slot's time, and the event
   * loop's rest goes to webhooks. A client asking alone (a Prometheus, one scrape after another)
   * never waits.
   */
  constructor(
    readonly limit: number = RESPONSE_SLOTS,
    readonly holdMs: number = RESPONSE_HOLD_MS,
    readonly pauseFactor = 0,
  ) {}

  /** Answers holding a slot now, and requests waiting for one. */
  get counts(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  /**
   * Waits for a slot for `res`, first come first served, and holds it until `res` finishes or
   * closes. Resolves false (and holds nothing) when the client went away while waiting.
   */
  async take(res: ServerResponse): Promise<boolean> {
    if (this.active < this.limit) this.active += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    // The slot is this answer's from here: counted in `active`, handed over by release().
    let held = true;
    const takenAt = performance.now();
    const release = () => {
      if (!held) return;
      held = false;
      clearTimeout(timer);
      const pauseMs = this.waiting.length === 0 ? 0 : Math.min(MAX_PAUSE_MS, this.pauseFactor * (performance.now() - takenAt));
      if (pauseMs > 0) setTimeout(() => this.handOver(), pauseMs);
      else this.handOver();
    };
    const timer = setTimeout(() => res.destroy(), this.holdMs);
    timer.unref();
    // The request's socket, not the response's: a response to a request pipelined behind another
    // gets its socket only once the earlier answers are sent, and must still be answered then.
    if (res.destroyed || res.writableFinished || res.req.socket.destroyed) {
      release();
      return false;
    }
    res.once('finish', release);
    res.once('close', release);
    return true;
  }

  /** Gives a slot to the longest waiting request, or frees it. */
  private handOver(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active -= 1;
  }
}
