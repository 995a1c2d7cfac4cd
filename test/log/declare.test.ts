import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerOf, toMs } from '../../src/domain/ledger.js';
import { encodeLedger } from '../../src/domain/ledger-codec.js';
import { DEFAULT_LIMITS } from '../../src/domain/reducer.js';
import { encodeForget } from '../../src/log/entry.js';
import { MemoryLog } from '../../src/store/memory.js';
import type { EntryFields, LogStore } from '../../src/store/store.js';
import { makeApp, sampleValue, sqliteStore, tempDir, type TestApp } from '../support/app.js';
import { faulty } from '../support/faulty-store.js';
import { eventually } from '../support/redis.js';

// Issue 20: a declared component counts as operational from its declaration, which the fold loop
// appends to the log (a `declare` entry) once it has caught up, listing only what its ledger does
// not know: the same on every store, and nothing appended by a restart with the same file.

const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const SEARCH = '77337a51-852b-48f3-ac8d-840e5f5326a1';
const BLOG = '66337a51-852b-48f3-ac8d-840e5f5326a2';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function pagesFile(yaml: string, file = join(tempDir(), 'status-pages.yaml')): string {
  writeFileSync(file, yaml);
  return file;
}
const ACME = `status_pages:\n  - id: acme\n    components:\n      - uuid: ${API}\n        name: API\n      - uuid: ${SEARCH}\n        name: Search\n`;
const WITH_BLOG = `${ACME}  - id: blog\n    components:\n      - uuid: ${BLOG}\n        name: Blog\n`;

/** A store that remembers the fields of every entry appended to it (a fold's reads drain SQLite's). */
function recording<S extends LogStore>(store: S): S & { appended: EntryFields[] } {
  const appended: EntryFields[] = [];
  const append = store.append.bind(store);
  return Object.assign(store, {
    appended,
    append: async (fields: EntryFields[]) => {
      const results = await append(fields);
      fields.forEach((entry, index) => {
        if (results[index] === null) appended.push(entry);
      });
      return results;
    },
  });
}
const declarations = (store: { appended: EntryFields[] }) => store.appended.filter((fields) => fields.k === 'declare');

const metrics = async (target: TestApp) => (await request(target.main).get('/metrics')).text;

const stores: [string, () => LogStore][] = [
  ['memory', () => new MemoryLog()],
  ['sqlite', () => sqliteStore()],
];

describe.each(stores)('declaring the status pages file on STORE=%s', (_kind, makeStore) => {
  it('appends one declaration at start, books the declared components from its log time, and serves them', async () => {
    const store = recording(makeStore());
    app = await makeApp({ store, statusPagesFile: pagesFile(ACME) });
    const declared = declarations(store);
    expect(declared).toHaveLength(1);
    expect(JSON.parse(declared[0]?.d ?? '')).toEqual([['acme', [API, SEARCH]]]);
    // The only entry: the log's time at its end is the declaration's.
    const at = (await store.tip(store.origin)).time;
    for (const uuid of [API, SEARCH]) {
      expect(ledgerOf(app.fold.state.ledger, 'acme', uuid)).toMatchObject({ sinceMs: toMs(at), impact: 'operational' });
    }
    // The counter has its series before any webhook; the API reports the component operational.
    const text = await metrics(app);
    expect(sampleValue(text, 'statusmate_component_impact_seconds_total', { component_uuid: SEARCH, impact: 'operational' })).toBeGreaterThanOrEqual(0);
    expect(sampleValue(text, 'statusmate_component_impact_seconds_total', { component_uuid: SEARCH, impact: 'major_outage' })).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    const report = await request(app.main).get(`/api/v1/availability?from=${today}&to=${today}`);
    expect(report.status).toBe(200);
    const search = (
      report.body as { status_pages: { components: { uuid: string; known_since: string | null; availability: number | null }[] }[] }
    ).status_pages[0]?.components.find((c) => c.uuid === SEARCH);
    expect(search).toMatchObject({ known_since: new Date(toMs(at)).toISOString(), availability: 1 });
  });

  it('declares on a reload only what the ledger does not know, and nothing when the file adds nothing', async () => {
    const store = recording(makeStore());
    const file = pagesFile(ACME);
    app = await makeApp({ store, statusPagesFile: file, learnStatusPages: true });
    // A webhook names a component of the next file first: it is known, so not declared.
    const event = { meta: { type: 'component_impact_updated', uuid: BLOG, title: 'Blog', impact: 'degraded_performance' } };
    const sent = await request(app.main).post('/webhook?status_page=blog').set('Content-Type', 'application/json').send(JSON.stringify(event));
    expect(sent.status).toBe(200);
    const blogSince = ledgerOf(app.fold.state.ledger, 'blog', BLOG)?.sinceMs;
    const blogSearch = SEARCH.replace('77', '55');
    pagesFile(`${WITH_BLOG}      - uuid: ${blogSearch}\n        name: Blog search\n`, file);
    expect(await app.inventory.reload()).toMatchObject({ ok: true, statusPages: 2 });
    const declared = declarations(store);
    expect(declared.map((fields) => JSON.parse(fields.d ?? '') as unknown)).toEqual([[['acme', [API, SEARCH]]], [['blog', [blogSearch]]]]);
    expect(ledgerOf(app.fold.state.ledger, 'blog', BLOG)).toMatchObject({ sinceMs: blogSince, impact: 'degraded_performance' });
    expect(ledgerOf(app.fold.state.ledger, 'blog', blogSearch)).toMatchObject({ sinceMs: toMs((await store.tip(store.origin)).time), impact: 'operational' });
    const ledger = JSON.stringify(encodeLedger(app.fold.state.ledger));
    // The same declarations in another order: a reload that changes the file but declares nothing new.
    pagesFile(`${WITH_BLOG}      - uuid: ${blogSearch}\n        name: Renamed\n`, file);
    expect(await app.inventory.reload()).toMatchObject({ ok: true });
    expect(declarations(store)).toHaveLength(2);
    expect(JSON.stringify(encodeLedger(app.fold.state.ledger))).toBe(ledger);
  });

  it('keeps the ledger of a page the file drops, but serves no series for it', async () => {
    const store = recording(makeStore());
    const file = pagesFile(WITH_BLOG);
    app = await makeApp({ store, statusPagesFile: file });
    expect(sampleValue(await metrics(app), 'statusmate_component_impact_seconds_total', { component_uuid: BLOG })).toBeDefined();
    const since = ledgerOf(app.fold.state.ledger, 'blog', BLOG)?.sinceMs;
    pagesFile(ACME, file);
    expect(await app.inventory.reload()).toMatchObject({ ok: true, statusPages: 1 });
    expect(app.fold.state.pages.has('blog')).toBe(false);
    expect(sampleValue(await metrics(app), 'statusmate_component_impact_seconds_total', { component_uuid: BLOG })).toBeUndefined();
    // Folded state, the same on every replica: kept (until retention or a forget), and not declared again when the page comes back.
    expect(ledgerOf(app.fold.state.ledger, 'blog', BLOG)?.sinceMs).toBe(since);
    pagesFile(WITH_BLOG, file);
    expect(await app.inventory.reload()).toMatchObject({ ok: true, statusPages: 2 });
    expect(declarations(store)).toHaveLength(1);
    expect(sampleValue(await metrics(app), 'statusmate_component_impact_seconds_total', { component_uuid: BLOG })).toBeDefined();
  });

  it('says in one line how many declared components the ledger could not book, when it holds MAX_COMPONENTS already', async () => {
    const store = recording(makeStore());
    const file = pagesFile(ACME);
    app = await makeApp({ store, statusPagesFile: file, maxComponents: 2 });
    // The ledger keeps the components of a page the file drops: with them, it is full.
    pagesFile(`status_pages:\n  - id: blog\n    components:\n      - uuid: ${BLOG}\n        name: Blog\n`, file);
    expect(await app.inventory.reload()).toMatchObject({ ok: true, statusPages: 1 });
    expect(declarations(store)).toHaveLength(2);
    expect(ledgerOf(app.fold.state.ledger, 'blog', BLOG)).toBeUndefined();
    const warned = app.logs.lines.filter((line) => String(line.msg).startsWith('declared components not booked in the availability ledger'));
    expect(warned).toEqual([expect.objectContaining({ level: 'warn', not_booked: 1, max_components: 2 })]);
    // The component is still served, operational as declared; only its availability history is missing.
    expect(sampleValue(await metrics(app), 'statusmate_component_impact_level', { component_uuid: BLOG })).toBe(0);
  });

  it('forgets, on an operator request, the ledger of a page the file dropped: it makes room for the next declarations', async () => {
    const store = recording(makeStore());
    const file = pagesFile(WITH_BLOG);
    app = await makeApp({ store, statusPagesFile: file, tokens: ['s3cret'] });
    pagesFile(ACME, file);
    expect(await app.inventory.reload()).toMatchObject({ ok: true, statusPages: 1 });
    expect(ledgerOf(app.fold.state.ledger, 'blog', BLOG)).toBeDefined();
    // A forget the release before appended (format 2) is folded as it folded it: nothing found.
    expect(await store.append([{ ...encodeForget('before:1', { kind: 'page', statusPage: 'blog' }, DEFAULT_LIMITS, 3600), v: '2' }])).toEqual([null]);
    await app.fold.reachLogEnd();
    expect(ledgerOf(app.fold.state.ledger, 'blog', BLOG)).toBeDefined();
    const forgetBlog = () =>
      request((app as TestApp).main)
        .post('/-/forget')
        .set('Authorization', 'Bearer s3cret')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ status_page: 'blog' }));
    const res = await forgetBlog();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'forgotten', status_page: 'blog' });
    expect(app.fold.state.ledger.pages.has('blog')).toBe(false);
    // The file's own pages are untouched, and not declared again (the ledger still knows them).
    expect(ledgerOf(app.fold.state.ledger, 'acme', API)).toBeDefined();
    expect(declarations(store)).toHaveLength(1);
    expect((await forgetBlog()).status).toBe(404);
  });

  it('retries a declaration the store refused once it takes writes again', async () => {
    const store = recording(faulty(makeStore()));
    store.failWrites('disk full');
    app = await makeApp({ store, statusPagesFile: pagesFile(ACME), snapshots: { checkMs: 50 } });
    expect(ledgerOf(app.fold.state.ledger, 'acme', API)).toBeUndefined();
    expect(app.logs.lines.some((line) => String(line.msg).startsWith('declaring the status pages file'))).toBe(true);
    store.heal();
    await eventually(
      () => ledgerOf((app as TestApp).fold.state.ledger, 'acme', API) !== undefined,
      (known) => known,
    );
    expect(declarations(store)).toHaveLength(1);
  });
});

describe('declaring the status pages file across a restart', () => {
  it('appends nothing and changes nothing when restarted with the same file on the same SQLite file', async () => {
    const path = join(tempDir(), 'declare.db');
    const file = pagesFile(ACME);
    app = await makeApp({ store: sqliteStore(path), statusPagesFile: file });
    const ledger = JSON.stringify(encodeLedger(app.fold.state.ledger));
    const tip = (await app.store.tip(app.store.origin)).position;
    await app.close();
    app = await makeApp({ store: sqliteStore(path), statusPagesFile: file });
    expect((await app.store.tip(app.store.origin)).position).toBe(tip);
    expect(JSON.stringify(encodeLedger(app.fold.state.ledger))).toBe(ledger);
    expect(app.commits()).toBe(0);
    expect(app.logs.lines.some((line) => String(line.msg).startsWith('declared the status pages file'))).toBe(false);
  });
});

describe('a declared component a late event re-books', () => {
  it('serves the same last change before and after a restart', async () => {
    const path = join(tempDir(), 'late.db');
    const file = pagesFile(ACME);
    app = await makeApp({ store: sqliteStore(path), statusPagesFile: file });
    const declaredAt = ledgerOf(app.fold.state.ledger, 'acme', API)?.sinceMs as number;
    // A maintenance of API that finished an hour before the declaration, delivered now: its
    // record holds nothing, so API's record is still the file's, but the ledger, which held only
    // the declaration's assumption, starts API again at the event.
    const finished = new Date(declaredAt - 3_600_000).toISOString();
    const event = {
      meta: {
        type: 'maintenance_finished',
        uuid: 'cd5879b7-104e-4c20-ae84-39e4e26a6eb7',
        title: 'Upgrade',
        start_at: new Date(declaredAt - 7_200_000).toISOString(),
        end_at: finished,
        created_at: finished,
        affected_components: [{ impact: 'under_maintenance', component_details: { name: 'API', component_uuid: API } }],
      },
    };
    const sent = await request(app.main).post('/webhook?status_page=acme').set('Content-Type', 'application/json').send(JSON.stringify(event));
    expect(sent.body.status).toBe('applied');
    expect(ledgerOf(app.fold.state.ledger, 'acme', API)?.sinceMs).toBe(declaredAt - 3_600_000);
    const lastChange = async () => sampleValue(await metrics(app as TestApp), 'statusmate_component_last_change_timestamp_seconds', { component_uuid: API });
    const before = await lastChange();
    await app.close();
    app = await makeApp({ store: sqliteStore(path), statusPagesFile: file });
    expect(await lastChange()).toBe(before);
    // Where the ledger says API's operational time began: the event, as a restart computes it.
    expect(before).toBe((declaredAt - 3_600_000) / 1000);
  });
});

describe('a declared component whose first event, older than its declaration, changes its record but not its impact', () => {
  // docs/metrics.md: such an event replaces the declaration, "the component is known from that
  // event's created_at". The ledger started again there, but when the event changed the record
  // (a direct update to operational, a name the file does not give), the record kept the
  // declaration's time as its last change: the gauge said operational since the declaration,
  // the ledger since the event, and a name alone decided which (the core drill, seed 5).
  const hourBefore = (declaredAt: number) => new Date(declaredAt - 3_600_000).toISOString();
  const cases: [string, (declaredAt: number) => Record<string, unknown>][] = [
    ['an update to operational', (at) => ({ type: 'component_impact_updated', uuid: API, title: 'API', impact: 'operational', created_at: hourBefore(at) })],
    [
      'a maintenance scheduled under another name',
      (at) => ({
        type: 'maintenance_created',
        uuid: 'cd5879b7-104e-4c20-ae84-39e4e26a6eb7',
        title: 'Upgrade',
        start_at: new Date(at + 3_600_000).toISOString(),
        end_at: new Date(at + 7_200_000).toISOString(),
        created_at: hourBefore(at),
        affected_components: [{ component_details: { name: 'Public API', component_uuid: API } }],
      }),
    ],
  ];
  it.each(cases)('%s: last changed at the event, as the ledger says, before and after a restart', async (_what, meta) => {
    const path = join(tempDir(), 'older.db');
    const file = pagesFile(ACME);
    app = await makeApp({ store: sqliteStore(path), statusPagesFile: file });
    const declaredAt = ledgerOf(app.fold.state.ledger, 'acme', API)?.sinceMs as number;
    const sent = await request(app.main)
      .post('/webhook?status_page=acme')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ meta: meta(declaredAt) }));
    expect(sent.body.status).toBe('applied');
    expect(ledgerOf(app.fold.state.ledger, 'acme', API)).toMatchObject({ sinceMs: declaredAt - 3_600_000, impact: 'operational' });
    const lastChange = async () => sampleValue(await metrics(app as TestApp), 'statusmate_component_last_change_timestamp_seconds', { component_uuid: API });
    expect(await lastChange()).toBe((declaredAt - 3_600_000) / 1000);
    await app.close();
    app = await makeApp({ store: sqliteStore(path), statusPagesFile: file });
    expect(await lastChange()).toBe((declaredAt - 3_600_000) / 1000);
  });
});

describe('a reload that withdraws what the file declared', () => {
  it('leaves the maintenances in progress holding a declared component, as a restart has them', async () => {
    const path = join(tempDir(), 'reload.db');
    const file = pagesFile(ACME);
    app = await makeApp({ store: sqliteStore(path), statusPagesFile: file });
    // A maintenance in progress that leaves API operational: API's record is still the file's.
    const started = new Date().toISOString();
    const event = {
      meta: {
        type: 'maintenance_started',
        uuid: 'cd5879b7-104e-4c20-ae84-39e4e26a6eb7',
        title: 'Upgrade',
        start_at: started,
        created_at: started,
        affected_components: [{ impact: 'operational', component_details: { name: 'API', component_uuid: API } }],
      },
    };
    const sent = await request(app.main).post('/webhook?status_page=acme').set('Content-Type', 'application/json').send(JSON.stringify(event));
    expect(sent.body.status).toBe('applied');
    const reported = async () =>
      (
        (await request((app as TestApp).main).get('/api/v1/state')).body as { status_pages: { components: { uuid: string; reported: boolean }[] }[] }
      ).status_pages
        .flatMap((page) => page.components)
        .find((component) => component.uuid === API)?.reported;
    expect(await reported()).toBe(true);
    // A reload that changes the file: the file's records are withdrawn and put back.
    pagesFile(WITH_BLOG, file);
    expect(await app.inventory.reload()).toMatchObject({ ok: true, statusPages: 2 });
    expect(app.fold.state.pages.get('acme')?.holders.has(API)).toBe(true);
    expect(await reported()).toBe(true);
    await app.close();
    app = await makeApp({ store: sqliteStore(path), statusPagesFile: file });
    expect(await reported()).toBe(true);
  });
});
