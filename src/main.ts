import { EarlySignals } from './signals.js';

// The entry point. Signals are taken before anything else: a module's static imports are
// evaluated before its body, and loading the exporter's modules takes a few hundred milliseconds.
// Only this tiny module is imported statically; the rest (run.ts) once the signals are held.

const signals = new EarlySignals(['SIGHUP', 'SIGTERM', 'SIGINT']);
const { run } = await import('./run.js');
await run(signals);
