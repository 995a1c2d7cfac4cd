import { schemaVersionOf, SqliteFile, type Conversion, type LogRow, type RowMigrator, type SqliteOptions } from './sqlite-file.js';
import type { SnapshotToWrite, StoredSnapshot } from './store.js';

// The operations of SqliteLog on its file, one request and one reply at a time: run on the
// event loop, or on a worker thread of their own (see SqliteLog).

export type StoreRequest =
  | { id: number; op: 'open' }
  | { id: number; op: 'append'; rows: { time: number; entry: string }[] }
  | { id: number; op: 'read'; after: number; max: number }
  | { id: number; op: 'snapshotInfo' }
  | { id: number; op: 'beginSnapshot'; snapshot: Omit<SnapshotToWrite, 'data'> }
  | { id: number; op: 'snapshotPiece'; seq: number; data: string }
  | { id: number; op: 'commitSnapshot'; position: string }
  | { id: number; op: 'abortSnapshot' }
  | { id: number; op: 'beginSnapshotRead' }
  | { id: number; op: 'snapshotPieceAt'; seq: number }
  | { id: number; op: 'endSnapshotRead' }
  | { id: number; op: 'probe' }
  | { id: number; op: 'reclaim' }
  | { id: number; op: 'backup'; to: string }
  | { id: number; op: 'close' };

export type StoreReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

/** What each request answers. */
export type StoreValues = {
  open: { position: number; time: number; conversion: Conversion | undefined };
  append: number[];
  read: LogRow[];
  snapshotInfo: { position: string; time: number } | null;
  beginSnapshot: boolean;
  snapshotPiece: null;
  commitSnapshot: boolean;
  abortSnapshot: null;
  beginSnapshotRead: (Omit<StoredSnapshot, 'data'> & { seqs: number[] }) | null;
  snapshotPieceAt: string;
  endSnapshotRead: null;
  probe: null;
  /** The free pages left. */
  reclaim: number;
  backup: null;
  close: null;
};

/** The requests of a snapshot written or read a piece at a time: the only ones a file takes while one is open. */
export const SNAPSHOT_STEPS: ReadonlySet<StoreRequest['op']> = new Set([
  'snapshotPiece',
  'commitSnapshot',
  'abortSnapshot',
  'snapshotPieceAt',
  'endSnapshotRead',
  'close',
]);

export type Ops = {
  handle(request: StoreRequest): StoreReply;
  /** Whether a snapshot's write or read begun is still open: until it ends, only SNAPSHOT_STEPS may be handled. */
  snapshotOpen(): boolean;
};

/**
 * Handles `request`s in the order they come, and passes each reply to `reply`; while a snapshot's
 * write or read is open, every request but its steps (SNAPSHOT_STEPS) is held back, and handled
 * once it ends: an append run inside the snapshot's transaction would be answered before it was
 * durable, and undone with the snapshot should that abort.
 */
export function serveInOrder(ops: Ops, reply: (reply: StoreReply) => void): (request: StoreRequest) => void {
  const held: StoreRequest[] = [];
  return (request) => {
    if (ops.snapshotOpen() && !SNAPSHOT_STEPS.has(request.op)) {
      held.push(request);
      return;
    }
    reply(ops.handle(request));
    while (held.length > 0 && !ops.snapshotOpen()) reply(ops.handle(held.shift() as StoreRequest));
  };
}

/**
 * Opens the file. One that cannot be opened (held by another process, a newer schema, an
 * unwritable directory) is reported to every request rather than thrown, so the caller gets the
 * reason in a failed reply.
 */
export async function openOps(options: SqliteOptions): Promise<Ops> {
  let file: SqliteFile | undefined;
  let openError: string | undefined;
  try {
    const version = schemaVersionOf(options.path);
    // Only a file written before the log needs the record schemas (and their memory).
    let migrate: RowMigrator | undefined;
    if (version !== null && version < 3) ({ snapshotOfRows: migrate } = await import('./sqlite-migrate.js'));
    file = new SqliteFile(options, migrate);
  } catch (error) {
    openError = (error as Error).message;
  }
  const handle = (request: StoreRequest): StoreReply => {
    if (!file) {
      return request.op === 'close'
        ? { id: request.id, ok: true, value: null }
        : { id: request.id, ok: false, message: openError ?? 'SQLite file is not open' };
    }
    try {
      return { id: request.id, ok: true, value: value(request, file) };
    } catch (error) {
      return { id: request.id, ok: false, message: (error as Error).message };
    }
  };
  return { handle, snapshotOpen: () => file?.snapshotOpen() ?? false };
}

function value(request: StoreRequest, open: SqliteFile): unknown {
  switch (request.op) {
    case 'open':
      return { ...open.end(), conversion: open.conversion };
    case 'append':
      return open.append(request.rows);
    case 'read':
      return open.read(request.after, request.max);
    case 'snapshotInfo':
      return open.snapshotInfo();
    case 'beginSnapshot':
      return open.beginSnapshot(request.snapshot);
    case 'snapshotPiece':
      open.putSnapshotPiece(request.seq, request.data);
      return null;
    case 'commitSnapshot':
      return open.commitSnapshot(request.position);
    case 'abortSnapshot':
      open.abortSnapshot();
      return null;
    case 'beginSnapshotRead':
      return open.beginSnapshotRead();
    case 'snapshotPieceAt':
      return open.snapshotPieceAt(request.seq);
    case 'endSnapshotRead':
      open.endSnapshotRead();
      return null;
    case 'probe':
      open.probe();
      return null;
    case 'reclaim':
      return open.reclaim();
    case 'backup':
      open.backup(request.to);
      return null;
    case 'close':
      // A snapshot left open (its writer gave up) is rolled back: the stored one stays.
      open.abortSnapshot();
      open.close();
      return null;
  }
}
