import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { ledgerOf } from '../../src/domain/ledger.js';
import { encodeLedger } from '../../src/domain/ledger-codec.js';
import { redisKeys } from '../../src/store/redis-format.js';
import { makeApp, sampleValue, tempDir, whenReady, type TestApp } from '../support/app.js';
import { eventually, redisStore, redisTool, redisPerTest } from '../support/redis.js';

// Issue 20: a declared component counts as operational from its declaration, the same on every
// replica and across restarts. Replicas on one real redis-server, with the same status pages
// file, each declare what their folded ledger lacks: they converge on the first declaration.

const KEYS = redisKeys('statusmate:');
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const SEARCH = '77337a51-852b-48f3-ac8d-840e5f5326a1';

const fixture = redisPerTest();

function pagesFile(): string {
  const file = join(tempDir(), 'status-pages.yaml');
  writeFileSync(file, `status_pages:\n  - id: acme\n    components:\n      - uuid: ${API}\n        name: API\n      - uuid: ${SEARCH}\n        name: Search\n`);
  return file;
}

const open = async (file: string) => {
  const app = await makeApp({ store: redisStore({ url: fixture.server.url }), statusPagesFile: file });
  fixture.apps.push(app);
  await whenReady(app);
  return app;
};

/** The declare entries the stream holds. */
async function declareEntries(): Promise<string[]> {
  const client = createClient({ url: fixture.server.url, RESP: 2 });
  await client.connect();
  try {
    const entries = await client.xRange(KEYS.log, '-', '+');
    return (entries ?? []).filter((entry) => entry.message.k === 'declare').map((entry) => entry.id);
  } finally {
    client.destroy();
  }
}

const ledgerText = (app: TestApp) => JSON.stringify(encodeLedger(app.fold.state.ledger));

describe.skipIf(redisTool.skipReason !== undefined)('declared components on STORE=redis', () => {
  it('are booked alike on two replicas started together, from the first declaration; a restart appends and changes nothing', async () => {
    const file = pagesFile();
    const [a, b] = await Promise.all([open(file), open(file)]);
    await eventually(
      () => [ledgerText(a), ledgerText(b)],
      ([x, y]) => x === y && ledgerOf(a.fold.state.ledger, 'acme', SEARCH) !== undefined,
    );
    // Each may have appended one (they started together): the first wins, and both fold it alike.
    const declared = await declareEntries();
    expect(declared.length).toBeGreaterThanOrEqual(1);
    expect(declared.length).toBeLessThanOrEqual(2);
    const first = Number((declared[0] as string).split('-')[0]);
    for (const app of [a, b]) {
      for (const uuid of [API, SEARCH]) expect(ledgerOf(app.fold.state.ledger, 'acme', uuid)).toMatchObject({ sinceMs: first, impact: 'operational' });
    }
    // Both serve its counter before any webhook.
    for (const app of [a, b]) {
      const text = (await request(app.main).get('/metrics')).text;
      expect(sampleValue(text, 'statusmate_component_impact_seconds_total', { component_uuid: SEARCH, impact: 'operational' })).toBeGreaterThanOrEqual(0);
    }

    // A replica restarted with the same file appends nothing and holds the same ledger.
    const before = ledgerText(a);
    const tip = (await a.store.tip(a.store.origin)).position;
    await a.close();
    fixture.apps.splice(fixture.apps.indexOf(a), 1);
    const c = await open(file);
    expect((await c.store.tip(c.store.origin)).position).toBe(tip);
    expect(ledgerText(c)).toBe(before);
    expect(ledgerText(b)).toBe(before);
    expect(await declareEntries()).toEqual(declared);
  });

  it('has a replica started later fold the declaration of the first, and declare nothing itself', async () => {
    const file = pagesFile();
    const a = await open(file);
    expect(await declareEntries()).toHaveLength(1);
    const b = await open(file);
    await eventually(
      () => ledgerText(b),
      (text) => text === ledgerText(a),
    );
    expect(await declareEntries()).toHaveLength(1);
  });
});
