import { describe, expect, it } from 'vitest';
import { duration, relative, renderLandingPage } from '../../src/ui/landing.js';
import { fourPages, NOW, text } from './landing-view.js';

const at = (secondsFromNow: number) => new Date((NOW + secondsFromNow) * 1000).toISOString();

describe('relative times on the landing page', () => {
  it.each([
    [0, '0 s ago'],
    [-59, '59 s ago'],
    [-60, '1 min ago'],
    [-3599, '59 min ago'],
    [-3600, '1 h ago'],
    [-3660, '1 h 1 min ago'],
    [-7200, '2 h ago'],
    [-86_399, '23 h 59 min ago'],
    [-86_400, '1 d ago'],
    [-(86_400 + 6 * 3600 + 59 * 60), '1 d 6 h ago'],
    [-30 * 86_400, '30 d ago'],
    [45, 'in 45 s'],
    [90, 'in 1 min'],
    [2 * 3600 + 5 * 60, 'in 2 h 5 min'],
    [86_400 + 6 * 3600, 'in 1 d 6 h'],
    [86_400 + 8 * 3600, 'in 1 d 8 h'],
  ])('reads %i s from now as "%s", to two units past an hour', (offset, expected) => {
    expect(relative(at(offset), NOW)).toBe(expected);
  });

  it('reads the same instant written in another time zone the same', () => {
    const utc = '2026-12-03T09:30:00Z';
    const plus3 = '2026-12-03T12:30:00+03:00';
    expect(relative(plus3, NOW)).toBe(relative(utc, NOW));
    expect(relative(plus3, NOW)).toBe('2 h 30 min ago');
  });

  it.each([
    [0, '0 s'],
    [30, '30 s'],
    [15 * 60, '15 min'],
    [2 * 3600, '2 h'],
    [90 * 60, '1 h 30 min'],
    [3 * 86_400 + 3600, '3 d 1 h'],
  ])('writes a duration of %i s as "%s"', (seconds, expected) => {
    expect(duration(seconds)).toBe(expected);
  });
});

describe('maintenance windows on the landing page', () => {
  const withMaintenance = (start: string | null, end: string | null, state: 'scheduled' | 'in_progress' = 'scheduled') => {
    const view = fourPages();
    const page = view.status_pages.find((p) => p.id === 'blog');
    if (!page) throw new Error('no blog page');
    page.maintenances = [{ uuid: '00000000-0000-4000-8000-000000000999', title: 'Upgrade', state, scheduled_start_at: start, scheduled_end_at: end }];
    return text(renderLandingPage(view, NOW));
  };

  it('tells the start of a 2-hour window a day away from its end, and says how long it is', () => {
    const start = 86_400 + 6 * 3600 + 30;
    expect(withMaintenance(at(start), at(start + 2 * 3600))).toContain('Upgrade — scheduled, window: start in 1 d 6 h , end in 1 d 8 h (2 h)');
  });

  it('says how long a short window days away is, though its start and end read alike', () => {
    expect(withMaintenance(at(3 * 86_400), at(3 * 86_400 + 1800))).toContain('Upgrade — scheduled, window: start in 3 d , end in 3 d (30 min)');
  });

  it('reads a running window as begun and still to end', () => {
    expect(withMaintenance(at(-20 * 60), at(100 * 60), 'in_progress')).toContain('Upgrade — in progress, window: start 20 min ago , end in 1 h 40 min (2 h)');
  });

  it('says when a window has no start, no end, or ends before it starts, instead of a dash', () => {
    expect(withMaintenance(null, at(3600))).toContain('Upgrade — scheduled, window: start not given, end in 1 h');
    expect(withMaintenance(at(3600), null)).toContain('Upgrade — scheduled, window: start in 1 h , end not given');
    expect(withMaintenance(null, null)).toContain('Upgrade — scheduled, no window given');
    expect(withMaintenance(at(7200), at(3600))).toContain('window: start in 2 h , end in 1 h (ends before it starts)');
  });
});

describe('incidents on the landing page', () => {
  it('says an incident whose start was not given has none, instead of a dash', () => {
    const view = fourPages();
    const incident = view.status_pages.find((p) => p.id === 'payments')?.incidents[0];
    if (!incident) throw new Error('no incident');
    incident.started_at = null;
    const html = text(renderLandingPage(view, NOW));
    expect(html).toContain('Card payments failing — start not given;');
    expect(html).not.toContain('started —');
  });
});
