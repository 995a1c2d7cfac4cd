import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { execForm, parseCopy, readDockerfile, readDockerignore, stageVariables, type Stage } from './dockerfile-model.js';
import { REPO_ROOT } from './support/helm.js';

const DOCKERFILE = join(REPO_ROOT, 'Dockerfile');
const file = readDockerfile(DOCKERFILE);
const [build, runtime] = file.stages as [Stage, Stage];
const only = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const last = (stage: Stage, keyword: string) => {
  const found = only(stage, keyword).at(-1);
  if (!found) throw new Error(`no ${keyword} in the stage`);
  return found;
};

describe('the Dockerfile', () => {
  it('has no problem dockerfile-utils reports, warnings included', () => {
    const diagnostics = validate(readFileSync(DOCKERFILE, 'utf8'));
    expect(diagnostics.map((d) => `line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`)).toEqual([]);
  });

  it('is checked by a linter that does report a broken Dockerfile', () => {
    const diagnostics = validate('FROM node:20-bookworm-slim\nEXPOSE port-nine\nWORKDIR app\nCMD ["node", \'dist/main.js\']\n');
    expect(diagnostics.length).toBeGreaterThanOrEqual(2);
  });

  it('builds on Node 24 bookworm with the toolchain better-sqlite3 needs, and runs on distroless Node 24 bookworm', () => {
    expect(file.stages).toHaveLength(2);
    expect(build.name).toBe('build');
    expect(build.image).toBe('node:24-bookworm-slim');
    expect(runtime.image).toBe('gcr.io/distroless/nodejs24-debian12:nonroot');
    expect(only(build, 'RUN').some((r) => /apt-get install[^&]*\bpython3\b/.test(r.args) && /\bmake\b/.test(r.args) && /\bg\+\+/.test(r.args))).toBe(true);
  });

  it('installs with the lockfile, builds, then drops the dev dependencies', () => {
    const runs = only(build, 'RUN').map((r) => r.args);
    const ci = runs.findIndex((r) => r.startsWith('npm ci'));
    const compile = runs.findIndex((r) => r.startsWith('npm run build'));
    const prune = runs.findIndex((r) => r.startsWith('npm prune --omit=dev'));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(compile).toBeGreaterThan(ci);
    expect(prune).toBeGreaterThan(compile);
  });

  it('runs as a numeric non-root user that owns only /data', () => {
    const user = last(runtime, 'USER').args;
    expect(user).toMatch(/^\d+:\d+$/);
    const [uid] = user.split(':');
    expect(Number(uid)).toBeGreaterThan(0);
    const chowned = only(runtime, 'COPY')
      .map(parseCopy)
      .filter((c) => c.chown !== undefined);
    expect(chowned).toEqual([{ from: 'build', chown: user, sources: ['/app/rootfs/'], dest: '/' }]);
    expect(execForm(last(runtime, 'VOLUME'))).toEqual(['/data']);
  });

  it('copies only the built code, the production dependencies, the malloc addon and package.json into the runtime', () => {
    const copies = only(runtime, 'COPY').map(parseCopy);
    expect(copies.every((c) => c.from === 'build')).toBe(true);
    expect(copies.flatMap((c) => c.sources).sort()).toEqual([
      '/app/build/Release/statusmate_malloc.node',
      '/app/dist',
      '/app/node_modules',
      '/app/package.json',
      '/app/rootfs/',
    ]);
  });

  it('exposes the webhook port, points SQLITE_PATH at /data and starts node on dist/main.js', () => {
    expect(last(runtime, 'EXPOSE').args).toBe('9877');
    const { env } = stageVariables(file, runtime);
    expect(env).toMatchObject({ SQLITE_PATH: '/data/statusmate-exporter.db', PORT: '9877', NODE_ENV: 'production' });
    expect(last(runtime, 'WORKDIR').args).toBe('/app');
    // The same node flags as `npm start`, so the image runs what the benchmarks measured.
    const start = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start
      .replace(/^exec\s+/, '')
      .split(/\s+/);
    expect(start[0]).toBe('node');
    expect([...execForm(last(runtime, 'ENTRYPOINT')), ...execForm(last(runtime, 'CMD'))]).toEqual(['/nodejs/bin/node', ...start.slice(1)]);
  });

  it('carries the OCI labels, with the revision from a build argument', () => {
    const { labels } = stageVariables(file, runtime);
    expect(Object.keys(labels).sort()).toEqual(
      ['base.name', 'description', 'licenses', 'revision', 'source', 'title', 'version'].map((k) => `org.opencontainers.image.${k}`),
    );
    expect(labels['org.opencontainers.image.title']).toBe('statusmate-exporter');
    expect(labels['org.opencontainers.image.revision']).toBe('unknown');
  });
});

describe('the .dockerignore', () => {
  const ignored = readDockerignore(REPO_ROOT);
  const tracked = execFileSync('git', ['ls-files'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);

  it('lets every file the Dockerfile copies from the context into the build', () => {
    const sources = only(build, 'COPY')
      .map(parseCopy)
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      const files = tracked.filter((path) => path === source || path.startsWith(`${source.replace(/\/$/, '')}/`));
      expect(files.length, `${source} is tracked`).toBeGreaterThan(0);
      for (const path of files) expect(ignored(path), path).toBe(false);
    }
  });

  it('keeps local state, dependencies, tests and repository metadata out of the context', () => {
    for (const path of [
      'data/statusmate-exporter.db',
      'src/store/local.db',
      'node_modules/express/package.json',
      '.git/HEAD',
      '.env',
      'src/.env.local',
      'test/config.test.ts',
      'helm/statusmate-exporter/values.yaml',
      'dist/main.js',
      'Dockerfile',
    ]) {
      expect(ignored(path), path).toBe(true);
    }
  });

  it('matches the way Docker does: the last line wins and a directory line covers its contents', () => {
    expect(ignored('src/main.ts')).toBe(false);
    expect(ignored('package-lock.json')).toBe(false);
    expect(ignored('src/deep/dir/x.db-wal')).toBe(true);
  });
});
