// Floor 3: the least a durable receiver built on the exporter's stack does. Express 5 with
// express.json(), each body appended as one row to a SQLite file in WAL mode with
// synchronous=NORMAL (the exporter's default), the bodies that arrived in one turn of the event
// loop in one transaction (as the exporter groups its appends), then 200 to each. No validation,
// dedup, fold, metrics or logging: what any exporter on this stack that answers 200 only once an
// event is stored pays.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import express from 'express';

const dir = mkdtempSync(join(tmpdir(), 'bench-express-sqlite-'));
const db = new Database(join(dir, 'floor.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE log (position INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, entry TEXT NOT NULL)');
const insert = db.prepare('INSERT INTO log (time, entry) VALUES (?, ?)');
const appendAll = db.transaction((rows) => {
  for (const row of rows) insert.run(row.time, row.entry);
});

/** The bodies of this turn, committed together at its end, then answered. */
let waiting = [];
function append(entry, answer) {
  if (waiting.length === 0) setImmediate(commit);
  waiting.push({ time: Date.now() / 1000, entry, answer });
}
function commit() {
  const rows = waiting;
  waiting = [];
  appendAll(rows);
  for (const row of rows) row.answer();
}

const port = Number(process.env.PORT ?? 0);
const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.use(express.json({ limit: '256kb' }));
app.post('/webhook', (req, res) => {
  append(JSON.stringify(req.body), () => res.json({ status: 'ok', type: req.body?.meta?.type ?? null }));
});
app.get('/readyz', (_req, res) => res.json({ status: 'ready' }));
const server = app.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port: server.address().port })));
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
