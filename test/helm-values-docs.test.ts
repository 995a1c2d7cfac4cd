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
