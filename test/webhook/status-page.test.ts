import { describe, expect, it } from 'vitest';
import { pageUuids, resolveStatusPage } from '../../src/webhook/status-page.js';

const ACME_UUID = '0935e96c-34b6-46e8-82cb-def6d3d74d9c';
const declared = pageUuids([{ id: 'acme', uuid: ACME_UUID, name: 'ACME', components: [] }]);

describe('naming the status page of an event', () => {
  it.each([
    ['the URL wins over the body', 'chosen', 'from-body', 'chosen'],
    ['the URL wins over a declared uuid in the body', 'chosen', ACME_UUID, 'chosen'],
    ['a declared uuid in the body becomes its page id', undefined, ACME_UUID, 'acme'],
    ['a declared uuid matches whatever its case', undefined, ACME_UUID.toUpperCase(), 'acme'],
    ['a declared uuid in the URL becomes its page id too', ACME_UUID, null, 'acme'],
    ['an undeclared body page is kept as sent', undefined, 'other', 'other'],
    ['with neither, the default', undefined, null, 'default'],
    ['an empty URL parameter counts as absent', '', 'from-body', 'from-body'],
  ])('%s', (_name, url, sent, expected) => {
    expect(resolveStatusPage(url, sent, declared, 'default')).toBe(expected);
  });

  it('cuts an overlong page name to the label length', () => {
    expect(resolveStatusPage(undefined, 'x'.repeat(300), declared, 'default')).toHaveLength(200);
  });
});
