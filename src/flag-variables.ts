import { KNOWN_VARIABLES } from './config.js';

/** Variables whose value is a secret: a flag given for one is echoed with a placeholder. */
const SECRET = /TOKEN|PASSWORD|REDIS_URL/;

/**
 * The settings that arguments given to the exporter meant, as the variables that set them:
 * `--port 9999` or `--port=9999` is `PORT=9999`, `--webhook-token x` is `WEBHOOK_TOKEN=<token>`.
 * Empty when no argument names a variable. The exporter reads the environment alone, and "it is
 * configured by environment variables" left the operator to find which.
 */
export function variablesOfFlags(args: readonly string[]): string[] {
  return flagsOf(args).map(({ name, value }) => `${name}=${value === undefined ? '…' : SECRET.test(name) ? '<secret>' : value}`);
}

/** The arguments as they may be echoed: the value of a flag naming a secret variable replaced. */
export function shownArgs(args: readonly string[]): string[] {
  const shown = [...args];
  for (const { name, index, inline } of flagsOf(args)) {
    if (!SECRET.test(name)) continue;
    if (inline) shown[index] = `${(args[index] ?? '').split('=')[0]}=<secret>`;
    else if (index + 1 < shown.length) shown[index + 1] = '<secret>';
  }
  return shown;
}

type Flag = { name: string; index: number; value: string | undefined; inline: boolean };

/** The arguments that name a variable (`--port`, `--webhook-token=…`), with their values. */
function flagsOf(args: readonly string[]): Flag[] {
  const found: Flag[] = [];
  for (const [index, arg] of args.entries()) {
    const flag = /^--?([A-Za-z][A-Za-z0-9_-]*)(?:=(.*))?$/s.exec(arg);
    if (flag === null) continue;
    const name = (flag[1] ?? '').toUpperCase().replaceAll('-', '_');
    if (!KNOWN_VARIABLES.includes(name)) continue;
    const next = args[index + 1];
    if (flag[2] !== undefined) found.push({ name, index, value: flag[2], inline: true });
    else found.push({ name, index, value: next !== undefined && !next.startsWith('-') ? next : undefined, inline: false });
  }
  return found;
}

/** The end of the refusal of arguments: the variables to set instead, as `command` would be run with them, or nothing. */
export function flagsAdvice(args: readonly string[], command: string): string {
  const variables = variablesOfFlags(args).join(' ');
  return variables === '' ? '' : `; set ${variables} in its environment instead (${variables} ${command})`;
}
