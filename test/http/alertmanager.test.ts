import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { HeldAlertsCheck, UNSUPPRESSED_RESOLUTION_WAIT_MS } from '../../src/alertmanager/held-alerts.js';
import { createLogger } from '../../src/logger.js';
import { MAX_ALERTS_PER_NOTIFICATION } from '../../src/webhook/alertmanager.js';
import { MemoryLog } from '../../src/store/memory.js';
import type { LogStore } from '../../src/store/store.js';
import { domainSamples, makeApp, sampleValue, sqliteStore, tempDir, whenReady, type TestApp, type TestAppOptions } from '../support/app.js';
import { chunkedPost, rawExchange } from '../support/raw-http.js';
import { eventually, redisStore, redisTool, startRedis, type RedisServer } from '../support/redis.js';

// POST /alertmanager: Alertmanager's webhook, authenticated, validated, stored through the log,
// and what its alerts measure of the status page.

const CHECKOUT = '0b7f3f5e-6a51-4c1e-9d3c-5a0e8f1b2c3d';
const SEARCH = '1c8e4a6f-7b62-4d2f-8e4d-6b1f9a2c3d4e';
const TOKEN = 'am-s3cret';

const FILE = `
status_pages:
  - id: shop
    components:
      - { uuid: ${CHECKOUT}, name: Checkout, alert_matchers: ['service="checkout"', 'env=~"prod|canary"'] }
      - { uuid: ${SEARCH}, name: Search }
`;

const apps: TestApp[] = [];
afterEach(async () => {
  while (apps.length > 0) await apps.pop()?.close();
});

function statusPagesFile(): string {
  const file = join(tempDir(), 'status-pages.yaml');
  writeFileSync(file, FILE);
  return file;
}

async function start(options: TestAppOptions = {}): Promise<TestApp> {
  const app = await makeApp({ statusPagesFile: statusPagesFile(), tokens: ['hook'], alertmanagerTokens: ['old-token', TOKEN], ...options });
  apps.push(app);
  return app;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

type AlertSpec = { fingerprint: string; status?: 'firing' | 'resolved'; labels?: Record<string, string>; startsAt?: number; endsAt?: number };

/** A version 4 payload as Alertmanager 0.25 sends it. */
function payload(alerts: AlertSpec[]) {
  const now = Date.now() / 1000;
  return {
    version: '4',
    groupKey: '{}:{alertname="CheckoutDown"}',
    truncatedAlerts: 0,
    status: alerts.some((alert) => (alert.status ?? 'firing') === 'firing') ? 'firing' : 'resolved',
    receiver: 'statusmate',
    groupLabels: { alertname: 'CheckoutDown' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    alerts: alerts.map((alert) => ({
      status: alert.status ?? 'firing',
      labels: alert.labels ?? { alertname: 'CheckoutDown', service: 'checkout', env: 'prod' },
      annotations: { summary: 'checkout is down' },
      startsAt: iso(alert.startsAt ?? now - 60),
      endsAt: alert.status === 'resolved' ? iso(alert.endsAt ?? now) : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example:9090/graph',
      fingerprint: alert.fingerprint,
    })),
  };
}

const postAlerts = (app: TestApp, body: unknown, token = TOKEN) =>
  request(app.main).post('/alertmanager').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(body));

const postImpact = (app: TestApp, uuid: string, impact: string) =>
  request(app.main)
    .post('/webhook')
    .set('Authorization', 'Bearer hook')
    .set('Content-Type', 'application/json')
    .send(JSON.stringify({ text: 'x', meta: { uuid, type: 'component_impact_updated', impact, title: 'Checkout' } }));

const metrics = async (app: TestApp) => (await request(app.main).get('/metrics').set('Authorization', 'Bearer hook')).text;

const noStacks = (app: TestApp) => expect(app.logs.raw.join('\n')).not.toMatch(/"stack"|\n\s+at /);

describe('POST /alertmanager refuses what it cannot take, with a status and a JSON body naming the problem', () => {
  it('answers 404 naming ALERTMANAGER_WEBHOOK_TOKEN while it is unset', async () => {
    const app = await start({ alertmanagerTokens: [] });
    const res = await postAlerts(app, payload([{ fingerprint: 'a1' }]));
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ variable: 'ALERTMANAGER_WEBHOOK_TOKEN' });
    expect(res.body.error).toContain('ALERTMANAGER_WEBHOOK_TOKEN');
    expect(sampleValue(await metrics(app), 'statusmate_alertmanager_notifications_total', { outcome: 'disabled' })).toBe(1);
  });

  it('answers 401 without a bearer token, with a wrong one, or with the webhook token; takes every rotated token', async () => {
    const app = await start();
    expect(
      (
        await request(app.main)
          .post('/alertmanager')
          .send(payload([{ fingerprint: 'a1' }]))
      ).status,
    ).toBe(401);
    const basic = await request(app.main)
      .post('/alertmanager')
      .set('Authorization', 'Basic dXNlcjpwYXNz')
      .send(payload([{ fingerprint: 'a1' }]));
    expect(basic.status).toBe(401);
    expect(basic.body.error).toContain('bearer');
    expect((await postAlerts(app, payload([{ fingerprint: 'a1' }]), 'wrong')).status).toBe(401);
    expect((await postAlerts(app, payload([{ fingerprint: 'a1' }]), 'hook')).status).toBe(401);
    expect((await postAlerts(app, payload([{ fingerprint: 'a1' }]), 'old-token')).status).toBe(200);
    expect(app.logs.raw.join('\n')).not.toContain(TOKEN);
  });

  it('answers 400 to a body that is not JSON or not a version 4 payload, naming the field', async () => {
    const app = await start();
    const notJson = await request(app.main).post('/alertmanager').set('Authorization', `Bearer ${TOKEN}`).set('Content-Type', 'application/json').send('{');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toContain('not valid JSON');
    const v3 = await postAlerts(app, { ...payload([{ fingerprint: 'a1' }]), version: '3' });
    expect(v3.status).toBe(400);
    expect(v3.body.issues[0].path).toBe('version');
    const noFingerprint = payload([{ fingerprint: 'a1' }]);
    delete (noFingerprint.alerts[0] as { fingerprint?: string }).fingerprint;
    const missing = await postAlerts(app, noFingerprint);
    expect(missing.status).toBe(400);
    expect(missing.body.issues[0].path).toBe('alerts.0.fingerprint');
    const status = await postAlerts(app, { ...payload([]), alerts: [{ ...payload([{ fingerprint: 'a1' }]).alerts[0], status: 'burning' }] });
    expect(status.status).toBe(400);
    expect(await postAlerts(app, [])).toMatchObject({ status: 400 });
    // Node undoes the chunks alone: a gzip before them would reach the JSON parser still compressed.
    const transferCoded = await rawExchange(
      app.main,
      chunkedPost(
        '/alertmanager',
        { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', 'Transfer-Encoding': 'gzip, chunked' },
        gzipSync(JSON.stringify(payload([{ fingerprint: 'a1' }]))),
      ),
    );
    expect(transferCoded.status).toBe(415);
    expect((JSON.parse(transferCoded.body) as { issues: unknown }).issues).toEqual([
      { path: 'headers.transfer-encoding', message: 'must be chunked or absent' },
    ]);
    // More alerts than one notification may hold: refused whole, and the request's line says why.
    const many = payload(Array.from({ length: MAX_ALERTS_PER_NOTIFICATION + 1 }, (_, n) => ({ fingerprint: `f${n}` })));
    const tooMany = await postAlerts(app, many);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toBe(
      `not an Alertmanager webhook payload: alerts: at most ${MAX_ALERTS_PER_NOTIFICATION} alerts: set max_alerts in the webhook config`,
    );
    const lines = app.logs.lines.filter((line) => line.msg === 'request' && line.path === '/alertmanager' && line.status === 400);
    expect(lines.at(-1)).toMatchObject({ level: 'warn', outcome: 'invalid', error: tooMany.body.error });
    expect(lines.every((line) => typeof line.error === 'string')).toBe(true);
    expect(JSON.stringify(app.logs.lines)).not.toContain(TOKEN);
    expect(app.fold.state.alerts.components.size).toBe(0);
    noStacks(app);
  });

  it('answers 413 past the body bound and 405 to another method', async () => {
    const app = await start();
    const big = payload([{ fingerprint: 'a1', labels: { service: 'checkout', env: 'prod', filler: 'x'.repeat(4000) } }]);
    big.alerts = Array.from({ length: 300 }, (_, i) => ({ ...(big.alerts[0] as (typeof big.alerts)[number]), fingerprint: `f${i}` }));
    const res = await postAlerts(app, big);
    expect(res.status).toBe(413);
    expect(res.body.error).toContain('max_alerts');
    expect((await request(app.main).get('/alertmanager')).status).toBe(405);
    noStacks(app);
  });
});

describe('alerts measure the status page', () => {
  it('holds a firing alert that matches a component, counts one that matches none, and observes the time to communicate', async () => {
    const app = await start();
    const res = await postAlerts(
      app,
      payload([
        { fingerprint: 'a1' },
        { fingerprint: 'b2', labels: { alertname: 'Other', service: 'search' } },
        { fingerprint: 'c3', labels: { service: 'checkout', env: 'dev' } },
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'stored', alerts: 3, stored: 1, unmatched: 2 });
    // Its request line says what became of it, as a webhook's does.
    expect(app.logs.lines.filter((line) => line.msg === 'request' && line.path === '/alertmanager').at(-1)).toMatchObject({ status: 200, outcome: 'stored' });
    let text = await metrics(app);
    expect(sampleValue(text, 'statusmate_component_alerts_firing', { status_page: 'shop', component_uuid: CHECKOUT, component: 'Checkout' })).toBe(1);
    expect(sampleValue(text, 'statusmate_alertmanager_alerts_unmatched_total')).toBe(2);
    expect(sampleValue(text, 'statusmate_component_alert_matchers', { status_page: 'shop', component_uuid: CHECKOUT })).toBe(2);
    expect(sampleValue(text, 'statusmate_component_alert_matchers', { component_uuid: SEARCH })).toBeUndefined();

    expect((await postImpact(app, CHECKOUT, 'major_outage')).status).toBe(200);
    text = await metrics(app);
    expect(sampleValue(text, 'statusmate_status_page_response_seconds_count', { status_page: 'shop' })).toBe(1);
    const sum = sampleValue(text, 'statusmate_status_page_response_seconds_sum', { status_page: 'shop' }) ?? 0;
    expect(sum).toBeGreaterThanOrEqual(59);
    expect(sum).toBeLessThan(120);
    expect(sampleValue(text, 'statusmate_status_page_response_seconds_bucket', { status_page: 'shop', le: '120' })).toBe(1);

    // Resolved (after the page spoke: one that ended before leaves the page nothing to recover
    // from), then the page says operational: one observation of the recovery lag.
    const resolved = await postAlerts(app, payload([{ fingerprint: 'a1', status: 'resolved', endsAt: Date.now() / 1000 }]));
    expect(resolved.body).toMatchObject({ status: 'stored', stored: 1 });
    expect((await postImpact(app, CHECKOUT, 'operational')).status).toBe(200);
    text = await metrics(app);
    expect(sampleValue(text, 'statusmate_component_alerts_firing', { component_uuid: CHECKOUT })).toBeUndefined();
    expect(sampleValue(text, 'statusmate_status_page_recovery_lag_seconds_count', { status_page: 'shop' })).toBe(1);
    // A truncated notification is taken, and logged once so that max_alerts gets raised.
    const truncated = await postAlerts(app, { ...payload([{ fingerprint: 'a1' }]), truncatedAlerts: 2 });
    expect(truncated.body).toMatchObject({ status: 'stored', truncated: 2 });
    expect(app.logs.lines.filter((line) => line.truncated_alerts === 2)).toHaveLength(1);
    // A resolved alert nothing holds is not stored.
    expect((await postAlerts(app, payload([{ fingerprint: 'zz', status: 'resolved', labels: { service: 'nothing' } }]))).body.status).toBe('unmatched');
    noStacks(app);
  });

  it('forgets an alert Alertmanager stopped sending, at the next prune window past alertStaleSeconds, and counts it', async () => {
    const app = await start({ pruneWindowSeconds: 1, alertLimits: { alertStaleSeconds: 1 } });
    await postAlerts(app, payload([{ fingerprint: 'a1' }]));
    expect(sampleValue(await metrics(app), 'statusmate_component_alerts_firing', { component_uuid: CHECKOUT })).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    // Any entry moves the log's time into a new window.
    await postImpact(app, SEARCH, 'operational');
    const text = await metrics(app);
    expect(sampleValue(text, 'statusmate_component_alerts_firing', { component_uuid: CHECKOUT })).toBeUndefined();
    expect(sampleValue(text, 'statusmate_status_page_alerts_expired_total', { status_page: 'shop' })).toBe(1);
  });

  it('folds alike on the memory and SQLite stores, and a restart from the SQLite file keeps the alerts and histograms', async () => {
    const run = async (store: LogStore) => {
      const app = await start({ store });
      await postAlerts(
        app,
        payload([
          { fingerprint: 'a1', startsAt: 1_700_000_000 },
          { fingerprint: 'a2', startsAt: 1_700_000_100 },
        ]),
      );
      await postImpact(app, CHECKOUT, 'partial_outage');
      await postAlerts(app, payload([{ fingerprint: 'a1', status: 'resolved', startsAt: 1_700_000_000, endsAt: 1_700_000_500 }]));
      return app;
    };
    const strip = (text: string) =>
      domainSamples(text).filter(
        (line) => !line.includes('_sum') && !line.startsWith('statusmate_component_last_change') && !line.startsWith('statusmate_webhook_last_received'),
      );
    const memory = await run(new MemoryLog());
    const path = join(tempDir(), 'alerts.db');
    const sqlite = await run(sqliteStore(path));
    const memoryText = await metrics(memory);
    const sqliteText = await metrics(sqlite);
    expect(strip(sqliteText)).toEqual(strip(memoryText));
    expect(sampleValue(sqliteText, 'statusmate_component_alerts_firing', { component_uuid: CHECKOUT })).toBe(1);
    expect(sampleValue(sqliteText, 'statusmate_status_page_response_seconds_count', { status_page: 'shop' })).toBe(1);
    const before = JSON.stringify([...sqlite.fold.state.alerts.components.values()].map((record) => ({ ...record, firing: [...record.firing] })));

    await sqlite.close();
    apps.splice(apps.indexOf(sqlite), 1);
    const again = await start({ store: sqliteStore(path) });
    const after = JSON.stringify([...again.fold.state.alerts.components.values()].map((record) => ({ ...record, firing: [...record.firing] })));
    expect(after).toBe(before);
    expect(strip(await metrics(again))).toEqual(strip(sqliteText));
  });

  it('folds the alerts an appender matched even where the status pages file declares no matchers (a rollout)', async () => {
    const path = join(tempDir(), 'rollout.db');
    const appender = await start({ store: sqliteStore(path) });
    await postAlerts(appender, payload([{ fingerprint: 'a1' }]));
    await appender.close();
    apps.splice(apps.indexOf(appender), 1);
    const file = join(tempDir(), 'plain.yaml');
    writeFileSync(file, `status_pages:\n  - id: shop\n    components:\n      - { uuid: ${CHECKOUT}, name: Checkout }\n`);
    const reader = await makeApp({ store: sqliteStore(path), statusPagesFile: file, tokens: ['hook'], snapshots: {} });
    apps.push(reader);
    expect(sampleValue(await metrics(reader), 'statusmate_component_alerts_firing', { component_uuid: CHECKOUT })).toBe(1);
  });
});

describe.skipIf(redisTool.skipReason !== undefined)('alerts on STORE=redis, two replicas whose status pages files differ (a rollout)', () => {
  let redis: RedisServer | undefined;
  afterEach(async () => {
    while (apps.length > 0) await apps.pop()?.close();
    await redis?.stop('SIGKILL');
    redis = undefined;
  });

  it('folds the alerts the receiving replica matched on both, and both observe the same response', async () => {
    redis = await startRedis();
    const url = redis.url;
    const withMatchers = await start({ store: redisStore({ url }) });
    const file = join(tempDir(), 'no-matchers.yaml');
    writeFileSync(file, `status_pages:\n  - id: shop\n    components:\n      - { uuid: ${CHECKOUT}, name: Checkout }\n`);
    const without = await makeApp({ store: redisStore({ url }), statusPagesFile: file, tokens: ['hook'], alertmanagerTokens: [TOKEN] });
    apps.push(without);
    await whenReady(withMatchers);
    await whenReady(without);

    expect((await postAlerts(withMatchers, payload([{ fingerprint: 'a1', startsAt: Date.now() / 1000 - 300 }]))).body.status).toBe('stored');
    // The replica without matchers stores nothing of what it receives, and counts it.
    expect((await postAlerts(without, payload([{ fingerprint: 'b2' }]))).body).toMatchObject({ status: 'unmatched', unmatched: 1 });
    expect((await postImpact(without, CHECKOUT, 'major_outage')).status).toBe(200);

    const shared = (text: string) => domainSamples(text).filter((line) => /alerts_firing|response_seconds|recovery_lag|alerts_refused/.test(line));
    const expected = shared(await metrics(without));
    expect(sampleValue(expected.join('\n'), 'statusmate_component_alerts_firing', { component_uuid: CHECKOUT })).toBe(1);
    expect(sampleValue(expected.join('\n'), 'statusmate_status_page_response_seconds_count', { status_page: 'shop' })).toBe(1);
    await eventually(
      async () => shared(await metrics(withMatchers)),
      (samples) => JSON.stringify(samples) === JSON.stringify(expected),
    );
    expect(JSON.stringify(without.fold.state.alerts.pages.get('shop'))).toBe(JSON.stringify(withMatchers.fold.state.alerts.pages.get('shop')));
  });
});

describe('alerts Alertmanager no longer has (resolved under a silence: no resolution is sent)', () => {
  it('are let go of after two looks without them, through the log; those it still has stay held', async () => {
    const app = await start();
    expect((await postAlerts(app, payload([{ fingerprint: 'muted' }, { fingerprint: 'still' }]))).status).toBe(200);
    expect(app.fold.state.alerts.byFingerprint.size).toBe(2);
    const firing = new Set(['muted', 'still']);
    const check = new HeldAlertsCheck({
      // Listed silenced, as an alert of a maintenance is: Alertmanager sends no resolution of it.
      client: { firingAlerts: () => Promise.resolve(new Map([...firing].map((fingerprint) => [fingerprint, { suppressed: true }]))) },
      sink: app.fold,
      store: app.store,
      logger: createLogger('silent'),
    });
    await check.check();
    // Resolved under its silence.
    firing.delete('muted');
    await check.check();
    // One look without it: Alertmanager may be restarting without its data; it is still held.
    expect([...app.fold.state.alerts.byFingerprint.keys()].sort()).toEqual(['muted', 'still']);
    await check.check();
    expect([...app.fold.state.alerts.byFingerprint.keys()]).toEqual(['still']);
    expect(sampleValue(await metrics(app), 'statusmate_component_alerts_firing', { component_uuid: CHECKOUT })).toBe(1);
    // Back in a look between two without it: not let go of.
    firing.clear();
    await check.check();
    firing.add('still');
    await check.check();
    firing.clear();
    await check.check();
    expect([...app.fold.state.alerts.byFingerprint.keys()]).toEqual(['still']);
    await check.check();
    expect(app.fold.state.alerts.byFingerprint.size).toBe(0);
    expect(sampleValue(await metrics(app), 'statusmate_component_alerts_firing', { component_uuid: CHECKOUT })).toBeUndefined();
    await check.stop();
  });

  it('one Alertmanager did not last list suppressed waits for its resolution, which brings its end, until that is overdue', async () => {
    const app = await start();
    expect((await postAlerts(app, payload([{ fingerprint: 'notified' }, { fingerprint: 'unseen' }]))).status).toBe(200);
    // 'unseen' fired and resolved between two looks: never listed.
    let listed = new Map([['notified', { suppressed: false }]]);
    let now = 1_000_000;
    const check = new HeldAlertsCheck({
      client: { firingAlerts: () => Promise.resolve(listed) },
      sink: app.fold,
      store: app.store,
      logger: createLogger('silent'),
      now: () => now,
    });
    await check.check();
    // Resolved: Alertmanager lists it no more, and sends the resolution at the group's next flush.
    listed = new Map();
    for (let look = 0; look < 5; look += 1) {
      now += 60_000;
      await check.check();
    }
    expect([...app.fold.state.alerts.byFingerprint.keys()].sort()).toEqual(['notified', 'unseen']);
    // No resolution came (an Alertmanager restarted without its data, send_resolved off): let go of once overdue.
    now += UNSUPPRESSED_RESOLUTION_WAIT_MS - 4 * 60_000;
    await check.check();
    expect(app.fold.state.alerts.byFingerprint.size).toBe(0);
    await check.stop();
  });

  it('are not let go of while Alertmanager cannot be read', async () => {
    const app = await start();
    expect((await postAlerts(app, payload([{ fingerprint: 'a1' }]))).status).toBe(200);
    const check = new HeldAlertsCheck({
      client: { firingAlerts: () => Promise.reject(new Error('no Alertmanager answered')) },
      sink: app.fold,
      store: app.store,
      logger: createLogger('silent'),
    });
    for (let look = 0; look < 3; look += 1) await check.check();
    expect([...app.fold.state.alerts.byFingerprint.keys()]).toEqual(['a1']);
    await check.stop();
  });
});
