// Loaded with `node --import` into the processes a test starts (NODE_OPTIONS): their Date is the
// test's. Either it reads the time from the file FAKE_CLOCK_FILE names (milliseconds since the
// epoch), which the test writes (fakeClock in fake-clock.ts), so that two real exporters given the
// same deliveries at the same written times stamp them alike, and a test can let days pass between
// two deliveries; or it runs FAKE_CLOCK_OFFSET_MS ahead of the real time (shiftedClock), so that a
// test that needs a running clock starts at the time of day it chose. Only Date: timers,
// performance.now() and the event loop keep the real time.
import { readFileSync } from 'node:fs';

const file = process.env.FAKE_CLOCK_FILE;
const offset = Number(process.env.FAKE_CLOCK_OFFSET_MS ?? '');
const RealDate = globalThis.Date;
let now;
if (file !== undefined && file !== '') {
  let last = RealDate.now();
  now = () => {
    try {
      const ms = Number(readFileSync(file, 'utf8'));
      if (Number.isFinite(ms) && ms > 0) last = ms;
    } catch {
      // Keep the last time read.
    }
    return last;
  };
} else if (Number.isFinite(offset) && offset !== 0) {
  now = () => RealDate.now() + offset;
}
if (now !== undefined) {
  const current = now;
  class FakeDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(current());
      else super(...args);
    }
    static now() {
      return current();
    }
  }
  globalThis.Date = FakeDate;
}
