#!/usr/bin/env node
// The package's command: `statusmate-exporter [serve|check|send|replay|demo|forget|backup|seed-redis|reset-redis]`. `serve`, the default,
// runs the exporter as `npm start` does; it is configured by environment variables only.
import { meantOf, processIo, UsageError } from './cli/io.js';
import { BACKUP_USAGE } from './cli/backup.js';
import { CHECK_USAGE } from './cli/check.js';
import { FORGET_USAGE } from './cli/forget.js';
import { REPLAY_USAGE } from './cli/replay.js';
import { RESET_REDIS_USAGE } from './cli/reset-redis.js';
import { SEED_REDIS_USAGE } from './cli/seed-redis.js';
import { SEND_USAGE } from './cli/send.js';
import { packageVersion } from './version.js';

const USAGE = `usage: statusmate-exporter [command]
  serve                 run the exporter (the default); configured by environment variables (see the README)
  check [FILE]          check the environment and the status pages file as a start would, without starting
  send --url URL ...    send one test event built from flags
  replay FILE.jsonl ... send recorded webhooks in order, retrying like StatusMate
  demo                  start an exporter on a temporary store and replay the example day into it
  forget --url URL ...  forget a status page, component, incident or maintenance on every replica
  backup --url URL ...  copy the SQLite store while the exporter serves
  seed-redis FILE.db    start the shared log in an empty Redis from a SQLite store's state
  reset-redis --yes     delete a lost or replaced shared log in Redis, so replicas start a new one
  --version             print the exporter's version
  COMMAND --help        print one command's usage

${CHECK_USAGE}

${SEND_USAGE}

${REPLAY_USAGE}

${FORGET_USAGE}

${BACKUP_USAGE}

${SEED_REDIS_USAGE}

${RESET_REDIS_USAGE}`;

/** Each command's own usage, for `statusmate-exporter COMMAND --help`. */
const COMMAND_USAGE: Record<string, string> = {
  serve: 'usage: statusmate-exporter [serve]\n  runs the exporter, configured by environment variables only (see the README)',
  check: CHECK_USAGE,
  send: SEND_USAGE,
  replay: REPLAY_USAGE,
  demo: 'usage: statusmate-exporter demo\n  starts an exporter on a temporary store, replays the example day into it, and prints where to look',
  forget: FORGET_USAGE,
  backup: BACKUP_USAGE,
  'seed-redis': SEED_REDIS_USAGE,
  'reset-redis': RESET_REDIS_USAGE,
};

async function run(argv: string[]): Promise<number | undefined> {
  const [command = 'serve', ...args] = argv;
  const usage = Object.hasOwn(COMMAND_USAGE, command) ? COMMAND_USAGE[command] : undefined;
  if (usage !== undefined && (args.includes('--help') || args.includes('-h'))) {
    processIo.out(usage);
    return 0;
  }
  switch (command) {
    case 'serve':
      if (args.length > 0)
        throw new UsageError(
          `serve takes no arguments: configure it with environment variables${(await import('./flag-variables.js')).flagsAdvice(args, 'statusmate-exporter serve')}`,
        );
      await import('./main.js');
      return undefined; // main.ts owns the process from here: signals and exit
    case 'check':
      return (await import('./cli/check.js')).check(args, processIo);
    case 'send':
      return (await import('./cli/send.js')).send(args, processIo);
    case 'replay':
      return (await import('./cli/replay.js')).replay(args, processIo);
    case 'forget':
      return (await import('./cli/forget.js')).forgetCommand(args, processIo);
    case 'backup':
      return (await import('./cli/backup.js')).backupCommand(args, processIo);
    case 'seed-redis':
      return (await import('./cli/seed-redis.js')).seedRedis(args, processIo);
    case 'reset-redis':
      return (await import('./cli/reset-redis.js')).resetRedis(args, processIo);
    case 'demo':
      await (await import('./cli/demo.js')).demo(args, processIo);
      return undefined;
    case 'help':
    case '--help':
    case '-h':
      processIo.out(USAGE);
      return 0;
    case 'version':
    case '--version':
      processIo.out(packageVersion());
      return 0;
    default: {
      const meant = meantOf(command, ['serve', 'check', 'send', 'replay', 'forget', 'backup', 'seed-redis', 'reset-redis', 'demo', 'help', 'version']);
      throw new UsageError(`unknown command ${JSON.stringify(command)}${meant === undefined ? '' : `: did you mean ${meant}?`}`);
    }
  }
}

try {
  const code = await run(process.argv.slice(2));
  if (code !== undefined) process.exitCode = code;
} catch (error) {
  if (!(error instanceof UsageError) && !(error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) throw error;
  // One line: node's parseArgs explains some mistakes (an argument starting with a dash) over three.
  const message = error.message.replace(/\s*\n\s*/g, ' ');
  processIo.err(`statusmate-exporter: ${message} (statusmate-exporter --help lists the commands and their flags)`);
  process.exitCode = 64; // EX_USAGE
}
