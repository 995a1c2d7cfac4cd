// Scrape baseline: the same domain series as the exporter serves for a given state, held as
// ordinary labelled prom-client gauges and counters in a plain Registry, rendered by
// registry.metrics() on every scrape (gzip per scrape when asked), the way a typical exporter does.
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { componentName, componentUuid, incidentUuid, maintenanceUuid, IMPACTS, PAGE } from '../lib/ids.mjs';

const port = Number(process.env.PORT ?? 0);
const components = Number(process.env.COMPONENTS ?? 1000);
const incidents = Number(process.env.INCIDENTS ?? 200);
const maintenances = Number(process.env.MAINTENANCES ?? 100);

const registry = new Registry();
const registers = [registry];
const impact = new Gauge({
  name: 'statusmate_component_impact',
  help: 'Current impact of a component as a StateSet.',
  labelNames: ['status_page', 'component_uuid', 'component', 'impact'],
  registers,
});
const level = new Gauge({
  name: 'statusmate_component_impact_level',
  help: 'Current impact level of a component.',
  labelNames: ['status_page', 'component_uuid', 'component'],
  registers,
});
const lastChange = new Gauge({
  name: 'statusmate_component_last_change_timestamp_seconds',
  help: 'When the impact last changed.',
  labelNames: ['status_page', 'component_uuid', 'component'],
  registers,
});
const created = new Counter({ name: 'statusmate_incidents_created_total', help: 'Incidents created.', labelNames: ['status_page'], registers });
const finished = new Counter({ name: 'statusmate_incidents_finished_total', help: 'Incidents finished.', labelNames: ['status_page'], registers });
const active = new Gauge({ name: 'statusmate_incidents_active', help: 'Active incidents.', labelNames: ['status_page'], registers });
const incidentInfo = new Gauge({
  name: 'statusmate_incident_info',
  help: 'Active incident.',
  labelNames: ['status_page', 'incident_uuid', 'title'],
  registers,
});
const incidentStart = new Gauge({
  name: 'statusmate_incident_start_timestamp_seconds',
  help: 'Incident start.',
  labelNames: ['status_page', 'incident_uuid'],
  registers,
});
const buckets = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200];
new Histogram({ name: 'statusmate_incident_duration_seconds', help: 'Incident durations.', labelNames: ['status_page'], buckets, registers }).zero({
  status_page: PAGE,
});
const mCreated = new Counter({ name: 'statusmate_maintenances_created_total', help: 'Maintenances created.', labelNames: ['status_page'], registers });
new Counter({ name: 'statusmate_maintenances_started_total', help: 'Maintenances started.', labelNames: ['status_page'], registers }).inc(
  { status_page: PAGE },
  0,
);
new Counter({ name: 'statusmate_maintenances_finished_total', help: 'Maintenances finished.', labelNames: ['status_page'], registers }).inc(
  { status_page: PAGE },
  0,
);
const mActive = new Gauge({ name: 'statusmate_maintenances_active', help: 'Unfinished maintenances.', labelNames: ['status_page', 'state'], registers });
const mInfo = new Gauge({
  name: 'statusmate_maintenance_info',
  help: 'Unfinished maintenance.',
  labelNames: ['status_page', 'maintenance_uuid', 'title', 'state'],
  registers,
});
const mStart = new Gauge({
  name: 'statusmate_maintenance_scheduled_start_timestamp_seconds',
  help: 'Scheduled start.',
  labelNames: ['status_page', 'maintenance_uuid'],
  registers,
});
const mEnd = new Gauge({
  name: 'statusmate_maintenance_scheduled_end_timestamp_seconds',
  help: 'Scheduled end.',
  labelNames: ['status_page', 'maintenance_uuid'],
  registers,
});
new Histogram({ name: 'statusmate_maintenance_duration_seconds', help: 'Maintenance durations.', labelNames: ['status_page'], buckets, registers }).zero({
  status_page: PAGE,
});
new Gauge({ name: 'statusmate_webhook_last_received_timestamp_seconds', help: 'Last event.', labelNames: ['status_page'], registers }).set(
  { status_page: PAGE },
  1767261600,
);

const now = 1767261600;
for (let i = 0; i < components; i += 1) {
  const labels = { status_page: PAGE, component_uuid: componentUuid(i), component: componentName(i) };
  const current = i % 7 === 0 ? 'major_outage' : 'operational';
  for (const name of IMPACTS) impact.set({ ...labels, impact: name }, name === current ? 1 : 0);
  level.set(labels, current === 'major_outage' ? 4 : 0);
  lastChange.set(labels, now + i);
}
created.inc({ status_page: PAGE }, incidents);
finished.inc({ status_page: PAGE }, 0);
active.set({ status_page: PAGE }, incidents);
for (let i = 0; i < incidents; i += 1) {
  incidentInfo.set({ status_page: PAGE, incident_uuid: incidentUuid(i), title: `Elevated error rates (bench incident ${i})` }, 1);
  incidentStart.set({ status_page: PAGE, incident_uuid: incidentUuid(i) }, now + i);
}
mCreated.inc({ status_page: PAGE }, maintenances);
mActive.set({ status_page: PAGE, state: 'scheduled' }, maintenances);
mActive.set({ status_page: PAGE, state: 'in_progress' }, 0);
for (let i = 0; i < maintenances; i += 1) {
  mInfo.set({ status_page: PAGE, maintenance_uuid: maintenanceUuid(i), title: `Database upgrade (bench maintenance ${i})`, state: 'scheduled' }, 1);
  mStart.set({ status_page: PAGE, maintenance_uuid: maintenanceUuid(i) }, now + 3600 + i);
  mEnd.set({ status_page: PAGE, maintenance_uuid: maintenanceUuid(i) }, now + 7200 + i);
}

const server = createServer(async (req, res) => {
  if (req.url !== '/metrics') {
    res.writeHead(req.url === '/readyz' ? 200 : 404).end();
    return;
  }
  const text = Buffer.from(await registry.metrics(), 'utf8');
  const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  const body = gzip ? gzipSync(text, { level: 6 }) : text;
  res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': body.length, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port: server.address().port })));
process.on('SIGTERM', () => process.exit(0));
