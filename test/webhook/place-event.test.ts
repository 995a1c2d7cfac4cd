import { describe, expect, it } from 'vitest';
import type { DeclaredPage } from '../../src/domain/inventory.js';
import { pageIndex, placeEvent } from '../../src/webhook/status-page.js';

const SHOP_UUID = '0935e96c-34b6-46e8-82cb-def6d3d74d9c';
const API = '88337a51-852b-48f3-ac8d-840e5f5326a0';
const WEBSITE = '5f844cb4-32f8-43eb-aa3d-99c925d8fffe';
const SHARED = '22222222-2222-4222-8222-222222222222';
const UNDECLARED = '11111111-1111-4111-8111-111111111111';

const PAGES: DeclaredPage[] = [
  {
    id: 'shop',
    uuid: SHOP_UUID,
    name: null,
    components: [
      { uuid: API, name: 'API' },
      { uuid: SHARED, name: 'Shared' },
    ],
  },
  {
    id: 'blog',
    uuid: null,
    name: null,
    components: [
      { uuid: WEBSITE, name: 'Website' },
      { uuid: SHARED, name: 'Shared' },
    ],
  },
];
const index = pageIndex(PAGES, true);
const place = (url: string | undefined, sent: string | null, components: string[], learn = false) => placeEvent(url, sent, components, index, 'default', learn);

describe('placing an event on a status page', () => {
  it('labels an event naming no page with the one page declaring its component', () => {
    expect(place(undefined, null, [WEBSITE])).toEqual({ page: 'blog', from: 'components', unknown: false });
  });

  it('labels an incident with the one page declaring all its declared components, undeclared ones riding along', () => {
    expect(place(undefined, null, [API, UNDECLARED])).toEqual({ page: 'shop', from: 'components', unknown: false });
  });

  it('leaves an event on the default page, as a several_pages conflict, when its components are declared on two pages', () => {
    expect(place(undefined, null, [API, WEBSITE])).toEqual({
      page: 'default',
      from: 'default',
      unknown: true,
      conflict: { reason: 'several_pages', declaredOn: ['shop', 'blog'] },
    });
  });

  it('treats one component declared on two pages as a several_pages conflict', () => {
    expect(place(undefined, null, [SHARED]).conflict).toEqual({ reason: 'several_pages', declaredOn: ['shop', 'blog'] });
  });

  it('keeps the page the URL names and reports other_page when the component is declared elsewhere only', () => {
    expect(place('shop', null, [WEBSITE])).toEqual({ page: 'shop', from: 'url', unknown: false, conflict: { reason: 'other_page', declaredOn: ['blog'] } });
  });

  it('reports no conflict when the page named (by its uuid) declares the component', () => {
    expect(place(undefined, SHOP_UUID, [API])).toEqual({ page: 'shop', from: 'meta', unknown: false });
  });

  it('marks a page the file does not declare as unknown, unless pages are learnt', () => {
    expect(place('nosuch', null, []).unknown).toBe(true);
    expect(place('nosuch', null, [], true).unknown).toBe(false);
    expect(place(undefined, null, [UNDECLARED])).toEqual({ page: 'default', from: 'default', unknown: true });
  });

  it('knows every page when no status pages file is in force', () => {
    const noFile = pageIndex([], false);
    expect(placeEvent('anything', null, [API], noFile, 'default', false)).toEqual({ page: 'anything', from: 'url', unknown: false });
    expect(placeEvent(undefined, null, [API], noFile, 'default', false)).toEqual({ page: 'default', from: 'default', unknown: false });
  });
});
