import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMPTY_INVENTORY, InventoryError, loadInventory, maxFileBytes, parseInventory } from '../../src/inventory/file.js';
import { tempDir } from '../support/app.js';

const ACME = '0935E96C-34B6-46E8-82CB-DEF6D3D74D9C';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';

const yaml = `
status_pages:
  - id: acme                      # the status_page label
    uuid: ${ACME}
    name: ACME public status
    token_env: ACME_WEBHOOK_TOKEN
    components:
      - uuid: ${API}
        name: API
  - id: internal
`;

describe('the status pages file', () => {
  it('refuses a token_env token a header could not carry alike, naming the page and variable', () => {
    expect(() => parseInventory(yaml, 'pages.yaml', { ACME_WEBHOOK_TOKEN: 'new, päss' })).toThrow(
      'STATUS_PAGES_FILE pages.yaml: status_pages[0].token_env: a token in ACME_WEBHOOK_TOKEN holds a character outside visible ASCII',
    );
  });

  it('reads the YAML of the issue, lower-casing uuids and reading the token from token_env', () => {
    const inventory = parseInventory(yaml, 'pages.yaml', { ACME_WEBHOOK_TOKEN: ' new , old ' });
    expect(inventory.pages).toEqual([
      { id: 'acme', uuid: ACME.toLowerCase(), name: 'ACME public status', components: [{ uuid: API, name: 'API' }] },
      { id: 'internal', uuid: null, name: null, components: [] },
    ]);
    expect(inventory.pageTokens).toEqual(new Map([['acme', ['new', 'old']]]));
  });

  it('reads the same inventory from JSON', () => {
    const json = JSON.stringify({ status_pages: [{ id: 'acme', uuid: ACME, name: 'ACME public status', components: [{ uuid: API, name: 'API' }] }] });
    expect(parseInventory(json, 'pages.json', {}).pages[0]).toEqual({
      id: 'acme',
      uuid: ACME.toLowerCase(),
      name: 'ACME public status',
      components: [{ uuid: API, name: 'API' }],
    });
  });

  it.each([
    ['status_pages: []\nextra: 1\n', 'STATUS_PAGES_FILE f.yaml: (top level): Unrecognized key: "extra"'],
    ['pages: []\n', 'STATUS_PAGES_FILE f.yaml: status_pages: required (at line 1, column 1); (top level): Unrecognized key: "pages" (at line 1, column 1)'],
    ['', 'STATUS_PAGES_FILE f.yaml: (top level): must be an object, not null'],
    ['status_pages:\n  - name: x\n', 'STATUS_PAGES_FILE f.yaml: status_pages[0].id: required'],
    ['status_pages:\n  - id: a\n    uuid: nope\n', 'STATUS_PAGES_FILE f.yaml: status_pages[0].uuid: must be a UUID'],
    [
      `status_pages:\n  - id: a\n    components:\n      - uuid: ${API}\n        name: API\n      - uuid: ${API}\n        name: Again\n`,
      'STATUS_PAGES_FILE f.yaml: status_pages[0].components[1].uuid: repeats the uuid of components[0]',
    ],
    ['status_pages:\n  - id: a\n  - id: a\n', 'STATUS_PAGES_FILE f.yaml: status_pages[1].id: repeats the id of status_pages[0]'],
    ['status_pages:\n  - id: a\n    tokn_env: X\n', 'STATUS_PAGES_FILE f.yaml: status_pages[0]: Unrecognized key: "tokn_env"'],
    [
      'status_pages:\n  - id: a\n    token_env: UNSET_TOKEN\n',
      'STATUS_PAGES_FILE f.yaml: status_pages[0].token_env: the environment variable UNSET_TOKEN is not set',
    ],
    [
      'status_pages:\n  - id: a\n    token_env: "not a name"\n',
      'STATUS_PAGES_FILE f.yaml: status_pages[0].token_env: must be the name of an environment variable ending in _TOKEN, like ACME_WEBHOOK_TOKEN',
    ],
    ['status_pages: [\n', 'STATUS_PAGES_FILE f.yaml: not valid YAML or JSON at line 2, column 1:'],
    ['status_pages:\n  - id: a\n   bad: [\n', 'STATUS_PAGES_FILE f.yaml: not valid YAML or JSON at line 3, column'],
    // What an attacker or an accident puts in a file, each refused at load with one line.
    [
      'status_pages:\n  - id: a\n    token_env: PATH\n',
      'STATUS_PAGES_FILE f.yaml: status_pages[0].token_env: must be the name of an environment variable ending in _TOKEN',
    ],
    [
      `status_pages:\n  - id: a\n    uuid: ${ACME}\n  - id: "${ACME.toLowerCase()}"\n`,
      'STATUS_PAGES_FILE f.yaml: status_pages[1].id: equals the uuid of status_pages[0]',
    ],
    [`status_pages:\n  - id: ${API}\n    uuid: ${API}\n`, 'STATUS_PAGES_FILE f.yaml: status_pages[0].id: equals the uuid of status_pages[0]'],
    [`status_pages:\n  - id: b\n  - id: ${ACME}\n    uuid: ${ACME}\n`, 'STATUS_PAGES_FILE f.yaml: status_pages[1].id: equals the uuid of status_pages[1]'],
    ['status_pages:\n  - id: "a\\u0007b"\n', 'STATUS_PAGES_FILE f.yaml: status_pages[0].id: must be letters, digits'],
    ['status_pages:\n  - id: "a/../b"\n', 'STATUS_PAGES_FILE f.yaml: status_pages[0].id: must be letters, digits'],
    ['status_pages:\n  - id: "<script>"\n', 'STATUS_PAGES_FILE f.yaml: status_pages[0].id: must be letters, digits'],
    [
      'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\nstatus_pages: []\n',
      'STATUS_PAGES_FILE f.yaml: not accepted: Excessive alias count',
    ],
  ])('refuses %j with one line naming the path in the file', (text, message) => {
    let error: unknown;
    try {
      parseInventory(text, 'f.yaml', {});
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InventoryError);
    expect((error as Error).message.startsWith(message)).toBe(true);
    expect((error as Error).message).not.toContain('\n');
  });

  it.each([
    // The value that is wrong, in a long file where a path alone takes counting to find.
    [
      `status_pages:\n  - id: a\n  - id: b\n    components:\n      - uuid: ${API}\n        name: API\n      - uuid: nope\n        name: Web\n`,
      'status_pages[1].components[1].uuid: must be a UUID (at line 7, column 15)',
    ],
    // A missing key: the object that lacks it.
    ['status_pages:\n  - id: a\n  - name: b\n', 'status_pages[1].id: required (at line 3, column 5)'],
    // An unknown key: the key itself, not its object.
    ['status_pages:\n  - id: a\n    name: A\n    tokn_env: X\n', 'status_pages[0]: Unrecognized key: "tokn_env" (at line 4, column 5)'],
    // A value shared through an alias: where it is written.
    ['shared: &u nope\nstatus_pages:\n  - id: a\n    uuid: *u\n', 'status_pages[0].uuid: must be a UUID (at line 1, column 12)'],
    // JSON on one line: the column is what finds it.
    [`{"status_pages":[{"id":"a","components":[{"uuid":"zz","name":"A"}]}]}`, 'status_pages[0].components[0].uuid: must be a UUID (at line 1, column 50)'],
    // A problem found after the schema (the token variable) is placed too.
    [
      'status_pages:\n  - id: a\n\n    token_env: UNSET_TOKEN\n',
      'status_pages[0].token_env: the environment variable UNSET_TOKEN is not set (at line 4, column 16)',
    ],
  ])('places a problem in %j at its line and column', (text, problem) => {
    expect(() => parseInventory(text, 'f.yaml', {})).toThrow(`STATUS_PAGES_FILE f.yaml: ${problem}`);
  });

  it('names no place for a file with nothing in it', () => {
    expect(() => parseInventory('', 'f.yaml', {})).toThrow(/^STATUS_PAGES_FILE f\.yaml: \(top level\): must be an object, not null$/);
  });

  it('refuses more status pages than MAX_STATUS_PAGES from the syntax tree, before validating them', () => {
    const text = `status_pages:\n${Array.from({ length: 4 }, (_, i) => `  - id: p${i}\n`).join('')}`;
    expect(() => parseInventory(text, 'f.yaml', {}, { maxStatusPages: 3, maxComponents: 10 })).toThrow(
      'STATUS_PAGES_FILE f.yaml: status_pages: 4 status pages, more than MAX_STATUS_PAGES (3)',
    );
  });

  it('refuses more components than MAX_COMPONENTS, counting those an alias repeats', () => {
    const list = Array.from({ length: 3 }, (_, i) => `      - uuid: 00000000-0000-4000-8000-00000000000${i}\n        name: c${i}\n`).join('');
    const text = `status_pages:\n  - id: a\n    components: &list\n${list}  - id: b\n    components: *list\n`;
    expect(() => parseInventory(text, 'f.yaml', {}, { maxStatusPages: 3, maxComponents: 5 })).toThrow(
      'STATUS_PAGES_FILE f.yaml: status_pages: more components than MAX_COMPONENTS (5)',
    );
    expect(parseInventory(text, 'f.yaml', {}, { maxStatusPages: 3, maxComponents: 6 }).pages).toHaveLength(2);
  });

  it('refuses a file larger than the limits allow before reading it whole', () => {
    const file = join(tempDir(), 'pages.yaml');
    const limits = { maxStatusPages: 1, maxComponents: 1 };
    writeFileSync(file, `# ${'x'.repeat(maxFileBytes(limits))}\nstatus_pages: []\n`);
    expect(() => loadInventory(file, {}, limits)).toThrow(
      `STATUS_PAGES_FILE ${file}: larger than ${maxFileBytes(limits)} bytes, the most MAX_STATUS_PAGES and MAX_COMPONENTS allow`,
    );
  });

  it('is empty when STATUS_PAGES_FILE is unset, and names a file that cannot be read', () => {
    expect(loadInventory(undefined, {})).toBe(EMPTY_INVENTORY);
    const missing = join(tempDir(), 'missing.yaml');
    expect(() => loadInventory(missing, {})).toThrow(`STATUS_PAGES_FILE ${missing}: no such file: check the path (ENOENT)`);
  });

  it('names the directory a relative path that names no file was read from, where a typo is first looked for', () => {
    expect(() => loadInventory('examples/status-page.yaml', {})).toThrow(
      `STATUS_PAGES_FILE examples/status-page.yaml: no such file (read from ${process.cwd()}): check the path (ENOENT)`,
    );
  });

  it('reads a file from disk', () => {
    const file = join(tempDir(), 'pages.yaml');
    writeFileSync(file, yaml);
    expect(loadInventory(file, { ACME_WEBHOOK_TOKEN: 't' }).file).toBe(file);
  });
});

describe('a page’s availability policy (issue 20)', () => {
  it('is read as written, and a weight out of 0..1, an unknown key or a bad impact name is refused naming its path', () => {
    const page = (availability: string) => `status_pages:\n  - id: acme\n    availability: ${availability}\n`;
    expect(parseInventory(page('{ weights: { degraded_performance: 0.5 }, exclude_maintenance: false }'), 'f.yaml', {}).pages[0]?.availability).toEqual({
      weights: { degraded_performance: 0.5 },
      exclude_maintenance: false,
    });
    expect(parseInventory('status_pages:\n  - id: acme\n', 'f.yaml', {}).pages[0]).not.toHaveProperty('availability');
    expect(() => parseInventory(page('{ weights: { major_outage: 2 } }'), 'f.yaml', {})).toThrow(
      /status_pages\[0\]\.availability\.weights\.major_outage: must be between 0 and 1/,
    );
    expect(() => parseInventory(page('{ weights: { "Major Outage": 1 } }'), 'f.yaml', {})).toThrow(/availability\.weights/);
    expect(() => parseInventory(page('{ exclude: true }'), 'f.yaml', {})).toThrow(/availability/);
  });
});
