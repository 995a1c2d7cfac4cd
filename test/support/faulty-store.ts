import type { LogStore } from '../../src/store/store.js';
import { StoreError } from '../../src/store/store.js';

/**
 * A real store whose writes can be made to fail, as a full disk or a Redis out of memory would
 * fail them, and heal again: what a test of the fold loop's answers and health needs without
 * filling a disk. Reads pass through untouched.
 */
export type FaultyStore = LogStore & {
  /** From now on, appends and probe writes fail with this message. */
  failWrites(message: string): void;
  /** Writes succeed again. */
  heal(): void;
};

export function faulty(store: LogStore): FaultyStore {
  let failure: string | undefined;
  const append = store.append.bind(store);
  const probe = store.probe.bind(store);
  return Object.assign(store, {
    append: (entries: Parameters<LogStore['append']>[0]) =>
      failure === undefined ? append(entries) : Promise.resolve(entries.map(() => new StoreError(failure as string))),
    probe: () => (failure === undefined ? probe() : Promise.reject(new StoreError(failure))),
    failWrites: (message: string) => {
      failure = message;
    },
    heal: () => {
      failure = undefined;
    },
  });
}
