/**
 * Just enough of a Dockerfile and .dockerignore reader for the image tests: instructions with
 * their continuation lines joined, stages, ARG substitution, ENV/LABEL pairs, COPY flags, and
 * Docker's ignore-file matching. Forms the Dockerfile does not use are refused, not guessed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Instruction = { keyword: string; args: string; line: number };
export type Stage = { name: string | undefined; image: string; instructions: Instruction[] };
export type Dockerfile = { globalArgs: Record<string, string>; stages: Stage[] };

export function readDockerfile(path: string): Dockerfile {
  return parseDockerfile(readFileSync(path, 'utf8'));
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    // Docker drops comment and blank lines, also in the middle of a continued instruction.
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    if (pending) pending.parts.push(part);
    else pending = { parts: [part], line: index + 1 };
    if (!continued) {
      const joined = pending.parts.join(' ');
      const match = /^(\S+)\s*(.*)$/.exec(joined);
      if (match) instructions.push({ keyword: (match[1] ?? '').toUpperCase(), args: match[2] ?? '', line: pending.line });
      pending = undefined;
    }
  });

  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = instruction.args.split(/\s+/);
      stages.push({ name: as?.toUpperCase() === 'AS' ? name : undefined, image: substitute(image, globalArgs), instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${instruction.line}: only ARG may precede FROM`);
      Object.assign(globalArgs, parsePairs(instruction.args, {}));
      continue;
    }
    stage.instructions.push(instruction);
  }
  return { globalArgs, stages };
}

/** Replaces ${NAME} and $NAME from the given variables; unknown names become empty, as in Docker. */
export function substitute(value: string, vars: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_, braced: string | undefined, bare: string | undefined) => vars[braced ?? bare ?? ''] ?? '',
  );
}

/** KEY=value pairs of ENV, LABEL and ARG (ARG NAME without a default maps to ""). */
export function parsePairs(args: string, vars: Record<string, string>): Record<string, string> {
  const pairs: Record<string, string> = {};
  const tokens = args.match(/(?:[^\s"]+|"(?:[^"\\]|\\.)*")+/g) ?? [];
  for (const token of tokens) {
    const eq = token.indexOf('=');
    const key = eq < 0 ? token : token.slice(0, eq);
    let value = eq < 0 ? '' : token.slice(eq + 1);
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    pairs[key] = substitute(value, vars);
  }
  return pairs;
}

/** The JSON (exec) form of CMD, ENTRYPOINT or VOLUME. */
export function execForm(instruction: Instruction): string[] {
  const value: unknown = JSON.parse(instruction.args);
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw new Error(`line ${instruction.line}: ${instruction.keyword} is not in exec (JSON) form`);
  return value;
}

export type CopyInstruction = { from: string | undefined; chown: string | undefined; sources: string[]; dest: string };

export function parseCopy(instruction: Instruction): CopyInstruction {
  const words = instruction.args.split(/\s+/).filter((w) => w !== '');
  let from: string | undefined;
  let chown: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() ?? '';
    const [name, value] = flag.slice(2).split('=', 2);
    if (name === 'from') from = value;
    else if (name === 'chown') chown = value;
    else throw new Error(`line ${instruction.line}: COPY flag ${flag} is not understood by the test`);
  }
  if (words.length < 2 || words[0]?.startsWith('[')) throw new Error(`line ${instruction.line}: COPY needs sources and a destination (shell form)`);
  const dest = words.pop() ?? '';
  return { from, chown, sources: words, dest };
}

/** The variables a stage's instructions see: global ARG defaults re-declared in the stage, and its ARG/ENV. */
export function stageVariables(file: Dockerfile, stage: Stage): { env: Record<string, string>; labels: Record<string, string> } {
  const vars: Record<string, string> = {};
  const env: Record<string, string> = {};
  const labels: Record<string, string> = {};
  for (const instruction of stage.instructions) {
    if (instruction.keyword === 'ARG') {
      for (const [key, value] of Object.entries(parsePairs(instruction.args, vars))) vars[key] = value !== '' ? value : (file.globalArgs[key] ?? '');
    } else if (instruction.keyword === 'ENV') {
      const pairs = parsePairs(instruction.args, vars);
      Object.assign(env, pairs);
      Object.assign(vars, pairs);
    } else if (instruction.keyword === 'LABEL') {
      Object.assign(labels, parsePairs(instruction.args, vars));
    }
  }
  return { env, labels };
}

type IgnoreRule = { exclude: boolean; pattern: RegExp };

/**
 * A .dockerignore as Docker applies it: the last matching line wins, "!" re-includes, and a
 * line matching a directory also matches everything below it.
 */
export function readDockerignore(repoRoot: string): (path: string) => boolean {
  const rules: IgnoreRule[] = [];
  for (const raw of readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const exclude = !line.startsWith('!');
    const glob = (exclude ? line : line.slice(1)).replace(/^\/+/, '').replace(/\/+$/, '');
    rules.push({ exclude, pattern: globToRegExp(glob) });
  }
  return (path: string) => {
    const prefixes = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) {
      if (prefixes.some((prefix) => rule.pattern.test(prefix))) excluded = rule.exclude;
    }
    return excluded;
  };
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] ?? '';
    if (char === '*' && glob[i + 1] === '*') {
      // "**/" matches any number of directories, including none.
      source += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
