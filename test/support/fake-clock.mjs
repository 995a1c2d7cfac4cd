// Loaded with `node --import` into the processes a test starts (NODE_OPTIONS): their Date reads
// the time from the file FAKE_CLOCK_FILE names (milliseconds since the epoch), which the test
// writes (fakeClock in fake-clock.ts). So two real exporters given the same deliveries at the same
// written times stamp them alike, and a test can let days pass between two deliveries. Only Date:
// timers, performance.now() and the event loop keep the real time.
import { readFileSync } from 'node:fs';

const file = process.env.FAKE_CLOCK_FILE;
if (file !== undefined && file !== '') {
  const RealDate = globalThis.Date;
  let last = RealDate.now();
  const now = () => {
    try {
      const ms = Number(readFileSync(file, 'utf8'));
      if (Number.isFinite(ms) && ms > 0) last = ms;
    } catch {
      // Keep the last time read.
    }
    return last;
  };
  class FakeDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(now());
      else super(...args);
    }
    static now() {
      return now();
    }
  }
  globalThis.Date = FakeDate;
}
