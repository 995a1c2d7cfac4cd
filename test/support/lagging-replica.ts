import request from 'supertest';
import type { TestApp } from './app.js';

// One status page and one Alertmanager alert, as the tests of a Redis replica whose fold is held
// behind the log send them (test/redis/*-lagging-*.test.ts): the page's Checkout component is
// what the alert CheckoutDown (fingerprint a1) matches, Search what it never does.

export const CHECKOUT = '0b7f3f5e-6a51-4c1e-9d3c-5a0e8f1b2c3d';
export const SEARCH = '1c8e4a6f-7b62-4d2f-8e4d-6b1f9a2c3d4e';
export const HOOK = 'hook';
export const AM = 'am-token';

/** The status pages file, Checkout's alert matcher given (a reload changes it). */
export const pagesFileWith = (checkoutMatcher: string) => `
status_pages:
  - id: shop
    components:
      - { uuid: ${CHECKOUT}, name: Checkout, alert_matchers: ['${checkoutMatcher}'] }
      - { uuid: ${SEARCH}, name: Search }
`;

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** A version 4 payload of one CheckoutDown alert (fingerprint a1) as Alertmanager sends it. */
export const checkoutDown = (status: 'firing' | 'resolved', startsAt: number, endsAt?: number) => ({
  version: '4',
  groupKey: '{}:{alertname="CheckoutDown"}',
  truncatedAlerts: 0,
  status,
  receiver: 'statusmate',
  groupLabels: { alertname: 'CheckoutDown' },
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://alertmanager.example:9093',
  alerts: [
    {
      status,
      labels: { alertname: 'CheckoutDown', service: 'checkout' },
      annotations: {},
      startsAt: iso(startsAt),
      endsAt: endsAt === undefined ? '0001-01-01T00:00:00Z' : iso(endsAt),
      generatorURL: 'http://prometheus.example:9090/graph',
      fingerprint: 'a1',
    },
  ],
});

export const postAlerts = (app: TestApp, body: unknown) =>
  request(app.main).post('/alertmanager').set('Authorization', `Bearer ${AM}`).set('Content-Type', 'application/json').send(JSON.stringify(body));

/** A component_impact_updated of page shop, as StatusMate sends it. */
export const postImpact = (app: TestApp, uuid: string, impact: string) =>
  request(app.main)
    .post('/webhook')
    .set('Authorization', `Bearer ${HOOK}`)
    .set('Content-Type', 'application/json')
    .send(JSON.stringify({ text: 'x', meta: { uuid, type: 'component_impact_updated', impact, title: 'C', status_page: 'shop' } }));
