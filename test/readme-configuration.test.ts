import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KNOWN_VARIABLES, loadConfig, VARIABLE_PREFIXES } from '../src/config.js';

// The README's Configuration section is what a new user reads to set the exporter up: its table
// must name exactly the variables src/config.ts reads, with the defaults it applies, and its list
// of the prefixes that draw a "not a statusmate-exporter setting" warning must be the code's.

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('\n## Configuration\n'), readme.indexOf('\n## ', readme.indexOf('\n## Configuration\n') + 1));
/** The table's rows: the variables of the first cell, and the second cell, the default. */
const rows = [...section.matchAll(/^\| ((?:`[A-Z_]+`(?:, )?)+) \| ([^|]+) \|/gm)].map((match) => ({
  names: [...(match[1] ?? '').matchAll(/`([A-Z_]+)`/g)].map((name) => name[1] ?? ''),
  cell: (match[2] ?? '').trim(),
}));

describe("the README's configuration table", () => {
  it('names exactly the variables the exporter reads', () => {
    expect(rows.length).toBeGreaterThan(30);
    expect(rows.flatMap((row) => row.names).sort()).toEqual([...KNOWN_VARIABLES].sort());
  });

  it('gives each variable the default the exporter applies: setting it to that value changes nothing', () => {
    // With ALERTMANAGER_URL set, the Alertmanager settings reach the configuration as well.
    const base = { ALERTMANAGER_URL: 'http://alertmanager.example:9093' };
    const unset = loadConfig(base);
    const documented = rows.filter((row) => row.cell !== 'unset');
    expect(documented.length).toBeGreaterThan(25);
    for (const { names, cell } of documented) {
      const value = /^`([^`]*)`/.exec(cell)?.[1];
      expect(value, `${names.join(', ')}: a default in backquotes, or "unset"`).toBeDefined();
      for (const name of names) expect({ name, config: loadConfig({ ...base, [name]: value }) }).toEqual({ name, config: unset });
    }
  });

  it('lists the prefixes whose unknown variables are warned about, as the code has them', () => {
    const sentence = /one of the prefixes ((?:`[A-Z_]+`,? )+)/.exec(section.replace(/\s+/g, ' '))?.[1] ?? '';
    expect([...sentence.matchAll(/`([A-Z_]+)`/g)].map((match) => match[1])).toEqual([...VARIABLE_PREFIXES]);
  });
});
