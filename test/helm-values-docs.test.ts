import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CHART_DIR } from './support/helm.js';

const valuesText = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8');
const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as SchemaNode;

type SchemaNode = { properties?: Record<string, SchemaNode>; additionalProperties?: boolean | SchemaNode };

/** Dotted paths of the values a user sets: nested maps are walked, anything else (lists, {}, scalars) is a leaf. */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([key, child]) => leafPaths(child, prefix ? `${prefix}.${key}` : key));
  }
  return [prefix];
}

/** Each key line of values.yaml with the comment lines right above it. */
function keysWithComments(text: string): { key: string; line: number; comments: string[] }[] {
  const out: { key: string; line: number; comments: string[] }[] = [];
  let comments: string[] = [];
  text.split('\n').forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed.startsWith('#')) {
      comments.push(trimmed);
      return;
    }
    const key = /^\s*([A-Za-z0-9_.-]+):/.exec(line);
    if (key && !trimmed.startsWith('-')) out.push({ key: key[1] ?? '', line: index + 1, comments });
    comments = [];
  });
  return out;
}

/** Each value's dotted path with the "## " comment lines right above it, joined as the README table shows them. */
function descriptions(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const path: string[] = [];
  let comments: string[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith('## ')) {
      comments.push(trimmed.slice(3));
      continue;
    }
    const key = /^(\s*)([A-Za-z0-9_.-]+):/.exec(line);
    if (key && !trimmed.startsWith('-')) {
      const depth = (key[1] ?? '').length / 2;
      path.length = depth;
      path[depth] = key[2] ?? '';
      out.set(path.join('.'), comments.join(' '));
    }
    comments = [];
  }
  return out;
}

/** A default as the README table writes it: a string bare (quoted when empty or all digits), anything else as JSON. */
function tableDefault(value: unknown): string {
  if (typeof value === 'string') return value === '' || /^\d+$/.test(value) ? `\`"${value}"\`` : `\`${value}\``;
  return `\`${JSON.stringify(value)}\``;
}

describe('values.yaml documentation', () => {
  const leaves = leafPaths(parseYaml(valuesText));

  it('has a "## " comment right above every key', () => {
    const undocumented = keysWithComments(valuesText)
      .filter((entry) => !entry.comments.some((comment) => comment.startsWith('## ')))
      .map((entry) => `line ${entry.line}: ${entry.key}`);
    expect(undocumented).toEqual([]);
  });

  it('is listed in the chart README, every value and no stale one', () => {
    const listed = [...readme.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...leaves].sort());
  });

  it('is described in the chart README table as in values.yaml, with its default', () => {
    const values = parseYaml(valuesText) as Record<string, unknown>;
    const comments = descriptions(valuesText);
    const rows = new Map([...readme.matchAll(/^\| `([^`]+)` \| (.*?) \| (.*) \|$/gm)].map((m) => [m[1], { value: m[2] ?? '', text: m[3] ?? '' }]));
    const unlike = leaves.flatMap((path) => {
      const row = rows.get(path);
      const text = row?.text.replaceAll('&lt;', '<').replaceAll('&gt;', '>');
      const value = tableDefault(path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], values));
      return [
        ...(text === comments.get(path) ? [] : [`${path}: README says "${text}", values.yaml "${comments.get(path)}"`]),
        ...(row?.value === value ? [] : [`${path}: README default ${row?.value}, values.yaml ${value}`]),
      ];
    });
    expect(unlike).toEqual([]);
  });

  it('matches values.schema.json, which knows every key (unknown keys fail installs)', () => {
    const missing = leaves.filter((path) => {
      let node: SchemaNode = schema;
      for (const part of path.split('.')) {
        const child = node.properties?.[part];
        if (child) node = child;
        else if (typeof node.additionalProperties === 'object') node = node.additionalProperties;
        else if (node.properties === undefined && node.additionalProperties !== false) return false;
        else return true;
      }
      return false;
    });
    expect(missing).toEqual([]);
  });
});
