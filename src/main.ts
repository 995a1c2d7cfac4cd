import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EarlySignals } from './signals.js';

// The entry point. Signals are taken before anything else: a module's static imports are
// evaluated before its body, and loading the exporter's modules takes a few hundred milliseconds.
// Only this tiny module is imported statically; the rest (run.ts) once the signals are held.

const signals = new EarlySignals(['SIGHUP', 'SIGTERM', 'SIGINT']);
// The exporter takes its settings from the environment alone. An argument is a command meant for
// the CLI (`node dist/main.js reset-redis --yes` would otherwise start an exporter and ignore it).
// Only when run as the entry point: `statusmate-exporter serve` (cli.js) imports this module.
const args = process.argv.slice(2);
if (args.length > 0 && isEntryPoint()) {
  const { flagsAdvice, shownArgs } = await import('./flag-variables.js');
  process.stderr.write(
    `dist/main.js takes no arguments (got ${JSON.stringify(shownArgs(args).join(' ').slice(0, 100))}): it is configured by environment variables${flagsAdvice(args, 'npm start')}; the commands are in dist/cli.js (node dist/cli.js --help)\n`,
  );
  process.exit(64); // EX_USAGE
}
const { run } = await import('./run.js');
await run(signals);

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
