import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerBytes } from '../../src/domain/ledger-reading.js';
import { makeApp, sqliteStore, tempDir, type TestApp } from '../support/app.js';

// LEDGER_MAX_DAY_ROWS held by the fold after every event, not only once per pruning window (600 s
// of log time): a token holder's first update of each component dated 60 days back, then one now,
// books 61 day rows per component at once; at 10,000 components and 399 days that was 4,000,000
// rows (97 MiB) for up to ten minutes, and again after a restart.

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const MAX_ROWS = 100;
const DAY = 86_400_000;

const update = (n: number, impact: string, at: number) => ({
  meta: {
    type: 'component_impact_updated',
    uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    title: `C${n}`,
    impact,
    created_at: new Date(at).toISOString(),
  },
});

async function send(target: TestApp, body: unknown): Promise<void> {
  const response = await request(target.main).post('/webhook').set('Content-Type', 'application/json').send(JSON.stringify(body));
  expect(response.status).toBe(200);
  expect(response.body.status).toBe('applied');
}

describe('LEDGER_MAX_DAY_ROWS, through the fold', () => {
  it('holds the day rows within the bound after each event that passes it, also after a restart', async () => {
    const path = join(tempDir(), 'rows.db');
    const options = { store: () => sqliteStore(path), limits: { ledgerMaxDayRows: MAX_ROWS } };
    app = await makeApp(options);
    const now = Date.now();
    for (let n = 1; n <= 4; n++) {
      await send(app, update(n, 'major_outage', now - 60 * DAY));
      await send(app, update(n, 'operational', now - 1000));
      expect(ledgerBytes(app.fold.state.ledger).rows, `after component ${n}`).toBeLessThanOrEqual(MAX_ROWS);
    }
    expect(app.fold.state.ledger.dayRows).toBe(ledgerBytes(app.fold.state.ledger).rows);
    expect(app.fold.state.ledger.keptFromDay).toBeGreaterThan(Math.floor((now - 60 * DAY) / DAY));
    await app.close();
    app = await makeApp(options);
    expect(ledgerBytes(app.fold.state.ledger).rows).toBeLessThanOrEqual(MAX_ROWS);
  });
});
