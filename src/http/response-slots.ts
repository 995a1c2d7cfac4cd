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
//
// Anyone who can reach the port can ask, so a crowd must not lock the slots either: while
// requests wait, an answer still unread after `crowdedHoldMs` is disconnected (a client that
// stops reading a large page would otherwise keep its slot the whole `holdMs`, and two such
// clients, asking again as they are cut, kept every scrape out), and a slot given back goes
// first to a client address that holds none (a client asking on many connections waits behind
// everyone else, not in front of Prometheus).

/** Prometheus servers of an HA pair scrape at once; more wait their turn (a few milliseconds each). */
export const RESPONSE_SLOTS = 2;
/** How long an answer may take to be read before its client is disconnected. */
export const RESPONSE_HOLD_MS = 30_000;
/**
 * How long an answer may take to be read while other requests wait: a scrape of 10,000 components
 * is read in well under a second, and Prometheus' default scrape timeout (10 s) leaves one that
 * waited behind a stalled client the time to be served.
 */
export const CROWDED_HOLD_MS = 5_000;
/** The longest pause a slot takes before it serves the next request (see SlotPacing.pauseFactor). */
export const MAX_PAUSE_MS = 1_000;

/** An answer holding a slot. */
type Holder = { readonly res: ServerResponse; readonly address: string; readonly takenAt: number; crowdTimer?: NodeJS.Timeout };
/** A request waiting for a slot. */
type Waiter = { readonly address: string; readonly resolve: () => void };

/** How a set of slots paces its answers (see ResponseSlots). */
export type SlotPacing = {
  /**
   * A slot given back rests this many times as long as its answer held it (at most MAX_PAUSE_MS)
   * before it serves the next: while clients crowd in, their answers then take at most
   * 1 / (1 + pauseFactor) of each slot's time, and the event loop's rest goes to webhooks. 0: none.
   */
  pauseFactor?: number;
  /**
   * Rest after every answer, not only while requests wait. For answers made in one go, without a
   * turn of the event loop (an availability report, a quarter of a second at 5,000 components):
   * each is sent, and its slot given back, before the next request of a crowd is even read, so no
   * request is ever seen waiting; without this, a crowd of them ran back to back and held webhooks
   * for seconds. Answers made in pieces (a scrape) leave false: a client asking alone (a
   * Prometheus, one scrape after another) then never waits.
   */
  restAfterEvery?: boolean;
  /** CROWDED_HOLD_MS unless a test needs it shorter. */
  crowdedHoldMs?: number;
};

export class ResponseSlots {
  private active = 0;
  private readonly waiting: Waiter[] = [];
  private readonly holders = new Set<Holder>();
  readonly pacing: Readonly<Required<SlotPacing>>;

  constructor(
    readonly limit: number = RESPONSE_SLOTS,
    readonly holdMs: number = RESPONSE_HOLD_MS,
    pacing: SlotPacing = {},
  ) {
    this.pacing = {
      pauseFactor: pacing.pauseFactor ?? 0,
      restAfterEvery: pacing.restAfterEvery ?? false,
      crowdedHoldMs: pacing.crowdedHoldMs ?? CROWDED_HOLD_MS,
    };
  }

  /** Answers holding a slot now (or resting before the next), and requests waiting for one. */
  get counts(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  /**
   * Waits for a slot for `res` and holds it until `res` finishes or closes. Resolves false (and
   * holds nothing) when the client went away while waiting.
   */
  async take(res: ServerResponse): Promise<boolean> {
    const address = res.req.socket.remoteAddress ?? '';
    if (this.active < this.limit) this.active += 1;
    else {
      // A request whose client goes away while it waits leaves the queue at once: kept until its
      // turn, each held its request, response and socket (about 13 KB), and a crowd that asked and
      // left while the slots were held grew the queue for as long as it asked (a 20 MB scrape held
      // by two clients that did not read, and 700 requests a second that left: 2 MB of heap more
      // every second, 400 MiB RSS in 75 s).
      const socket = res.req.socket;
      if (res.destroyed || socket.destroyed) return false;
      const handed = await new Promise<boolean>((resolve) => {
        const gone = () => {
          const at = this.waiting.indexOf(waiter);
          if (at === -1) return;
          this.waiting.splice(at, 1);
          resolve(false);
        };
        const waiter: Waiter = {
          address,
          resolve: () => {
            res.off('close', gone);
            socket.off('close', gone);
            resolve(true);
          },
        };
        this.waiting.push(waiter);
        res.once('close', gone);
        socket.once('close', gone);
        this.crowd();
      });
      // Gone while waiting: it took no slot, so it gives none back.
      if (!handed) return false;
    }
    // The slot is this answer's from here: counted in `active`, handed over by release().
    const holder: Holder = { res, address, takenAt: performance.now() };
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      clearTimeout(timer);
      clearTimeout(holder.crowdTimer);
      this.holders.delete(holder);
      const pauseMs =
        this.waiting.length === 0 && !this.pacing.restAfterEvery ? 0 : Math.min(MAX_PAUSE_MS, this.pacing.pauseFactor * (performance.now() - holder.takenAt));
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
    this.holders.add(holder);
    if (this.waiting.length > 0) this.crowd();
    res.once('finish', release);
    res.once('close', release);
    return true;
  }

  /** Requests wait: every answer still unread `crowdedHoldMs` after it took its slot is disconnected then. */
  private crowd(): void {
    for (const holder of this.holders) {
      if (holder.crowdTimer !== undefined) continue;
      holder.crowdTimer = setTimeout(
        () => {
          if (this.waiting.length > 0) holder.res.destroy();
          else holder.crowdTimer = undefined;
        },
        Math.max(0, holder.takenAt + this.pacing.crowdedHoldMs - performance.now()),
      );
      holder.crowdTimer.unref();
    }
  }

  /** Gives a slot to the longest waiting request of an address that holds none, else to the longest waiting, or frees it. */
  private handOver(): void {
    const holding = new Set<string>();
    for (const holder of this.holders) holding.add(holder.address);
    const index = this.waiting.findIndex((waiter) => !holding.has(waiter.address));
    const [next] = this.waiting.splice(index === -1 ? 0 : index, 1);
    if (next) next.resolve();
    else this.active -= 1;
  }
}
