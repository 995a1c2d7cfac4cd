import type { Patch, State } from '../domain/state.js';
import type { Logger } from '../logger.js';
import type { HealthOptions, Store } from './store.js';

/**
 * Wraps a store so that its health includes its last commit: a store that answers a ping but
 * cannot commit (a full disk, a lock held by another process) is not healthy, and /readyz and
 * `statusmate_store_up` say so until a commit succeeds again. Kept here once, for every store.
 *
 * While the last commit failed, each health check asks the store for a write probe, so that
 * readiness comes back once the disk has room again without waiting for an event (an unready
 * pod gets none). It logs each change between up and down once, with the reason.
 */
export class HealthTrackingStore implements Store {
  /** Why the last commit failed; undefined once one succeeded (or a write probe did). */
  private commitFailure: string | undefined;
  private up = true;

  constructor(
    private readonly inner: Store,
    private readonly logger: Logger,
  ) {}

  load(): Promise<State> {
    return this.inner.load();
  }

  async commit(patch: Patch): Promise<void> {
    try {
      await this.inner.commit(patch);
    } catch (error) {
      this.commitFailure = (error as Error).message;
      this.report(false, this.commitFailure);
      throw error;
    }
    this.commitFailure = undefined;
    this.report(true);
  }

  async healthy(options: HealthOptions = {}): Promise<boolean> {
    const probeWrite = options.probeWrite === true || this.commitFailure !== undefined;
    let reason: string | undefined;
    const ok = await this.inner.healthy({
      probeWrite,
      onFailure: (why) => {
        reason = why;
        options.onFailure?.(why);
      },
    });
    if (ok && probeWrite) this.commitFailure = undefined;
    const healthy = ok && this.commitFailure === undefined;
    this.report(healthy, reason ?? this.commitFailure ?? 'the store does not answer');
    return healthy;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private report(healthy: boolean, reason?: string): void {
    if (healthy === this.up) return;
    this.up = healthy;
    if (healthy) this.logger.info('store available again: commits succeed; ready');
    else this.logger.error({ reason }, 'store unavailable: not ready until it answers and takes commits again');
  }
}
