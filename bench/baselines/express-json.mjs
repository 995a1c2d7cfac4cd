// Ceiling 2: the same work through a plain Express 5 app with express.json(), i.e. the framework
// the exporter is built on, with nothing of the exporter's own work (validation, reducer, commit).
import express from 'express';

const port = Number(process.env.PORT ?? 0);
const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.use(express.json({ limit: '256kb' }));
app.post('/webhook', (req, res) => {
  res.json({ status: 'ok', type: req.body?.meta?.type ?? null });
});
app.get('/readyz', (_req, res) => res.json({ status: 'ready' }));
const server = app.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port: server.address().port })));
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => process.exit(0));
