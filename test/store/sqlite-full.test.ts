import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteFile } from '../../src/store/sqlite-file.js';
import { tempDir } from '../support/app.js';

// A disk that fills, simulated with SQLite's max_page_count on the file's own connection: no new
// page can be had, and the pages the file has still take a small rewrite.

describe('a SQLite file that cannot grow', () => {
  it('fails the probe after a failed append until the file grows again, so readiness does not flap while appends fail', () => {
    const file = new SqliteFile({ path: join(tempDir(), 'full.db'), synchronous: 'normal' });
    const db = (file as unknown as { db: Database.Database }).db;
    try {
      file.probe();
      file.append([{ time: 1, entry: '{}' }]);
      const pages = Number(db.pragma('page_count', { simple: true }));
      db.pragma(`max_page_count = ${pages}`);
      expect(() => file.append([{ time: 2, entry: JSON.stringify({ pad: 'x'.repeat(64 * 1024) }) }])).toThrow(/SQLite append failed: .*full/);
      // A one-row rewrite fits the pages the file has: it must not count as the store taking writes.
      expect(() => file.probe()).toThrow(/SQLite write probe failed: .*full/);
      db.pragma('max_page_count = 1073741823');
      file.probe();
      expect(file.append([{ time: 3, entry: JSON.stringify({ pad: 'x'.repeat(64 * 1024) }) }])).toHaveLength(1);
    } finally {
      file.close();
    }
  });
});
