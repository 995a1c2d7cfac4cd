import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// src/domain holds the semantics, the same in every process and every test: no I/O, no clock,
// no HTTP, no metrics library. Its modules import each other, zod (its schemas) and re2js (the
// pure RE2 engine alert matchers are read with, as Prometheus does), nothing else: not Node's modules (a hash from node:crypto crept in once), not Express or prom-client.

const DOMAIN = new URL('../../src/domain/', import.meta.url);
const ALLOWED = new Set(['zod', 're2js']);

describe('src/domain', () => {
  it('imports only its own modules, zod and re2js', () => {
    const outside: string[] = [];
    for (const file of readdirSync(DOMAIN).filter((name) => name.endsWith('.ts'))) {
      const text = readFileSync(new URL(file, DOMAIN), 'utf8');
      for (const match of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gm)) {
        const source = match[1] as string;
        if (!source.startsWith('./') && !ALLOWED.has(source)) outside.push(`${file}: ${source}`);
      }
      for (const match of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)|\brequire\(\s*'([^']+)'\s*\)/g)) outside.push(`${file}: ${match[1] ?? match[2]}`);
    }
    expect(outside).toEqual([]);
  });

  it('reads no clock of its own: the time of an event is given to it', () => {
    const clocks: string[] = [];
    for (const file of readdirSync(DOMAIN).filter((name) => name.endsWith('.ts'))) {
      const text = readFileSync(new URL(file, DOMAIN), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      for (const match of text.matchAll(/\bDate\.now\(\)|\bnew Date\(\)|\bperformance\.now\(\)|\bprocess\.hrtime|\bMath\.random\(\)/g))
        clocks.push(`${file}: ${match[0]}`);
    }
    expect(clocks).toEqual([]);
  });
});
