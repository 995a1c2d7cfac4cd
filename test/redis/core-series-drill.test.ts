import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  answersOf,
  CORE_PRUNE_WINDOW_SECONDS,
  CORE_RETENTION_SECONDS,
  CORE_TOKEN,
  declaredOf,
  describeSteps,
  differences,
  limitsOf,
  postEvent,
  postForget,
  scrapeCore,
  statusPagesFileOf,
  stepName,
} from '../support/core-drill.js';
import { CoreOracle, type HookEvent, type OracleLimits } from '../support/core-oracle.js';
import { coreTimeline, type CoreStep } from '../support/core-timelines.js';
import { caughtUp, openGatedReplica, stopReplica, type ReadGate, type Replica } from '../support/replica-drill.js';
import { holdLogClock, redisPerTest, redisTool, type LogClock } from '../support/redis.js';
import { seeded } from '../support/seeded.js';

// The drill of the core series (test/store/core-series-drill.test.ts) on STORE=redis: two replicas
// on one redis-server, one log (README "Redis": a replica answers 200 once its entry is committed,
// is ready once its fold reached the log's end, and the others converge by reading the log). Each
// step of a seed's timeline goes to one replica chosen by the seed, as a load balancer would send
// it (a retry mostly to the other one); forgets too; a restart stops one replica and starts
// another in its place, which loads the snapshot and the rest of the log; for some seeds one
// replica falls behind for a while (its fold held) and reloads once the log was trimmed past it.
// Once the replicas are ready (their folds reached the log's end), each serves what the oracle of
// the docs says, and both the same samples, those the oracle leaves unchecked too. Snapshots are
// due every 5 entries, so the log is trimmed under the replicas as it goes. Only Date is faked; Redis stamps the entries with it
// (holdLogClock), so that the log's time is the test's, as on the other stores.

const KEY_PREFIX = 'drill:';

// Fixed seeds, sized for `npm test`; REDIS_CORE_SEEDS, REDIS_CORE_BASE and REDIS_CORE_LENGTH search
// further (REDIS_CORE_SEEDS=100 REDIS_CORE_LENGTH=60); CORE_DEBUG=1 prints the steps of a failure.
// Seeds 157 and 174 at length 80 failed on every store alike until event entries of format 12 (a
// late event whose replay lacked an earlier event of an incident that did not name the component
// then, booked as it arrived); the memory and SQLite drill keeps them.
const SEEDS = Array.from({ length: Number(process.env.REDIS_CORE_SEEDS ?? 3) }, (_, i) => Number(process.env.REDIS_CORE_BASE ?? 1) + i);
const LENGTH = Number(process.env.REDIS_CORE_LENGTH ?? 30);

const fixture = redisPerTest();

/** Every gate of the test, released before its apps are closed (a held fold would hold the close). */
const gates: ReadGate[] = [];

const open = (limits: OracleLimits, statusPagesFile: string | undefined): Promise<Replica> =>
  openGatedReplica(
    { url: fixture.server.url, keyPrefix: KEY_PREFIX },
    {
      tokens: [CORE_TOKEN],
      limits,
      ...(statusPagesFile === undefined ? {} : { statusPagesFile }),
      retentionSeconds: CORE_RETENTION_SECONDS,
      pruneWindowSeconds: CORE_PRUNE_WINDOW_SECONDS,
      snapshots: { checkMs: 20, maxEntries: 5 },
    },
    gates,
    fixture.apps,
  );

const stop = (replica: Replica, crash: boolean) => stopReplica(replica, crash, fixture.apps);

describe.skipIf(redisTool.skipReason !== undefined)('the core series on two replicas of one Redis log against the oracle of the docs', () => {
  let clock: LogClock | undefined;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(async () => {
    for (const gate of gates.splice(0)) gate.release();
    vi.useRealTimers();
    await clock?.close();
    clock = undefined;
  });

  it.each(SEEDS)('both serve what the docs promise once they reached the log end, delivery after delivery (seed %i)', async (seed) => {
    // Ahead of Redis' own clock, which must not stamp the log (holdLogClock); 06:00 UTC as the other drill.
    const start = Date.UTC(2031, 2, 1, 6) / 1000;
    vi.setSystemTime(start * 1000);
    const log = (clock = await holdLogClock(fixture.server.url, KEY_PREFIX));
    await log.set(start * 1000);
    const limits = limitsOf(seed);
    const steps: CoreStep[] = coreTimeline(seed, start, {
      length: LENGTH,
      retentionSeconds: CORE_RETENTION_SECONDS,
      pruneWindowSeconds: CORE_PRUNE_WINDOW_SECONDS,
    });
    const declared = declaredOf(seed);
    const pagesFile = statusPagesFileOf(declared);
    const oracle = new CoreOracle(limits, CORE_RETENTION_SECONDS, CORE_PRUNE_WINDOW_SECONDS, declared, start);
    // Its own generator, so that the timeline is the other drill's of the same seed.
    const random = seeded(seed ^ 0x5ca1ab1e);
    const replicas = [await open(limits, pagesFile), await open(limits, pagesFile)];
    // For some seeds, now and then one replica falls behind for a while (its fold held): StatusMate
    // reaches the other one meanwhile, which snapshots and trims the log under it.
    const holds = random() < 0.5;
    let heldFor = 0;
    /** Which replica each step went to (restarted, held), for reading a failure. */
    const went: string[] = [];
    /** The replica each event's last delivery went to, by its body less delivery_attempt. */
    const lastSentTo = new Map<string, number>();
    const eventKey = ({ attempt: _attempt, ...rest }: HookEvent) => JSON.stringify(rest);
    let end = '';
    for (const [index, { at, action }] of steps.entries()) {
      vi.setSystemTime(Math.round(at * 1000));
      await log.set(Math.round(at * 1000));
      let released = false;
      let note = '';
      if (heldFor > 0 && --heldFor === 0) {
        for (const { gate } of replicas) gate.release();
        // A load balancer sends it nothing until it is ready again (it reloads meanwhile, and
        // answers 503 while it does).
        await caughtUp(replicas.map(({ app }) => app));
        released = true;
        note = ' (released)';
      } else if (holds && heldFor === 0 && random() < 0.05) {
        const held = Math.floor(random() * replicas.length);
        (replicas[held] as Replica).gate.hold();
        heldFor = 10 + Math.floor(random() * 15);
        note = ` (r${held} held for ${heldFor})`;
      }
      const live = replicas.flatMap((replica, i) => (replica.gate.held ? [] : [i]));
      let target = live[Math.floor(random() * live.length)] as number;
      if (action.kind === 'restart') {
        // Any replica, held or not: a new one loads the snapshot and the log.
        target = Math.floor(random() * replicas.length);
        if ((replicas[target] as Replica).gate.held) heldFor = 0;
        await stop(replicas[target] as Replica, action.crash);
        replicas[target] = await open(limits, pagesFile);
        if (!live.includes(target)) live.push(target);
      } else if (action.kind === 'forget') {
        const res = await postForget((replicas[target] as Replica).app, action.target);
        // 404 when what it names is not there (README: `POST /-/forget`), once folded as well.
        expect([200, 404], `seed ${seed}, step ${index + 1} (forget), replica ${target}`).toContain(res.status);
        oracle.forget(action.target, Date.now() / 1000);
      } else {
        const before = lastSentTo.get(eventKey(action.event));
        // A retry mostly reaches another replica than the delivery before it did.
        if (action.event.attempt >= 1 && before !== undefined && live.length > 1 && random() < 0.75) target = (before + 1) % replicas.length;
        lastSentTo.set(eventKey(action.event), target);
        const outcome = oracle.deliver(action.event, Date.now() / 1000);
        const res = await postEvent((replicas[target] as Replica).app, action.event);
        const context = `seed ${seed}, step ${index + 1} (${stepName(action)}), replica ${target}`;
        if (res.status !== 200 && process.env.CORE_DEBUG !== undefined)
          console.log(
            res.status,
            res.text,
            describeSteps(steps.slice(0, index + 1), start, (step) => went[step] ?? ''),
          );
        expect(res.status, context).toBe(200);
        expect(answersOf(outcome), `${context}: the answer`).toContain(String(res.body.status));
      }
      went.push(` ${action.kind === 'restart' ? 'restarted' : '→'} r${target}${note}`);
      const compared = live.sort().map((i) => (replicas[i] as Replica).app);
      // Nothing appended (a duplicate answered from the fold) and none released: all were at the log's end already.
      const now = await log.end();
      if (now !== end || released) await caughtUp(compared);
      end = now;
      const expected = oracle.samples();
      const served = await Promise.all(compared.map(scrapeCore));
      for (const [i, samples] of served.entries()) {
        const found = differences(expected, samples);
        if (found.length > 0 && process.env.CORE_DEBUG !== undefined) {
          console.log(`${found.join('\n')}\n${describeSteps(steps.slice(0, index + 1), start, (step) => went[step] ?? '')}`);
        }
        expect(found.join('\n'), `seed ${seed}, step ${index + 1} (${stepName(action)}), replica ${live[i]}`).toBe('');
      }
      // The samples the oracle leaves unchecked as well: one log folds to one state.
      if (served.length === 2) {
        expect([...(served[1] as Map<string, number>)].sort(), `seed ${seed}, step ${index + 1} (${stepName(action)}): replica 1 against replica 0`).toEqual(
          [...(served[0] as Map<string, number>)].sort(),
        );
      }
    }
    // Snapshots were committed while the replicas ran, and trimmed the log under them.
    expect(await log.trimmedTo(), `seed ${seed}: the log trimmed`).not.toBeNull();
  });
});
