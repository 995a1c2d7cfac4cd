import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cutLabel, MAX_LABEL_BYTES, MAX_LABEL_LENGTH } from '../../src/domain/labels.js';
import { parseInventory } from '../../src/inventory/file.js';
import { DomainMetrics } from '../../src/metrics/domain.js';
import { escapeLabelValue } from '../../src/metrics/exposition.js';
import { parseWebhook } from '../../src/webhook/schema.js';
import { incident, Player, T0 } from '../support/events.js';

// What a label value costs in /metrics is bounded in bytes, not only in characters: a component's
// name and its page's id are in each of its series (about 13), so 10,000 components named with
// 200 emoji (800 bytes each) made a 130 MB scrape, and names and a page id of 200 quotes (written
// as 400 bytes) 113 MB: the first scrape took the exporter past the chart's 384 MiB limit
// (OOM-killed under it, and again after each restart).

const written = (value: string) => Buffer.byteLength(escapeLabelValue(value), 'utf8');

const HOSTILE = ['\u{1F600}', '"', '\\', '\n', '漢', 'я', '\ud800', 'x'];

describe('a label value is cut to MAX_LABEL_BYTES as /metrics writes it', () => {
  it.each(HOSTILE)('%j repeated past the bound keeps whole characters within it', (char) => {
    const cut = cutLabel(char.repeat(300));
    expect(written(cut)).toBeLessThanOrEqual(MAX_LABEL_BYTES);
    expect(written(cut)).toBeGreaterThan(MAX_LABEL_BYTES - 4);
    expect(cut).toBe(char.repeat(Array.from(cut).length));
  });

  it('keeps any text within both bounds as it is, and cuts any other to a prefix of whole characters within them', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...HOSTILE, 'é', '\u{10FFFF}'), maxLength: 400 }), (text) => {
        const cut = cutLabel(text);
        expect(text.startsWith(cut)).toBe(true);
        expect(Array.from(cut).length).toBeLessThanOrEqual(MAX_LABEL_LENGTH);
        expect(written(cut)).toBeLessThanOrEqual(MAX_LABEL_BYTES);
        if (Array.from(text).length <= MAX_LABEL_LENGTH && written(text) <= MAX_LABEL_BYTES) expect(cut).toBe(text);
        // Never a lone surrogate made by the cut: a pair is kept or dropped whole.
        else expect(Array.from(cut)).toEqual(Array.from(text).slice(0, Array.from(cut).length));
      }),
    );
  });

  it('bounds the scrape of components by their count: hostile names and page ids write no more than 200 ASCII characters', () => {
    const scrape = (char: string) => {
      const p = new Player();
      for (let n = 1; n <= 20; n++) {
        const parsed = parseWebhook(
          {
            meta: {
              type: 'component_impact_updated',
              uuid: `c0000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
              impact: 'major_outage',
              title: char.repeat(300),
            },
          },
          char.repeat(300),
        );
        if (parsed.kind !== 'event') throw new Error(parsed.kind);
        expect(p.play(parsed.event).outcome).toBe('applied');
      }
      p.play(incident('incident_created', 1, T0, [], { title: char.repeat(300) }));
      return new DomainMetrics(p.state).text().length;
    };
    const ascii = scrape('x');
    for (const char of HOSTILE) expect(scrape(char), JSON.stringify(char)).toBeLessThanOrEqual(ascii);
  });

  it('cuts a name declared in STATUS_PAGES_FILE as it cuts a webhook name, so that the first webhook sending it leaves its series as they are', () => {
    const long = 'Сервис '.repeat(20).trim();
    const inventory = parseInventory(
      `status_pages:\n  - id: acme\n    components:\n      - uuid: c0000000-0000-4000-8000-000000000001\n        name: ${long}\n`,
      'pages.yaml',
      {},
    );
    expect(inventory.pages[0]?.components[0]?.name).toBe(cutLabel(long));
    expect(written(cutLabel(long))).toBeLessThanOrEqual(MAX_LABEL_BYTES);
  });
});
