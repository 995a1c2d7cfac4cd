import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

// Kubernetes updates a mounted ConfigMap by writing a new timestamped directory and swapping the
// `..data` symlink to it; the file's own path never changes, and inotify on it sees nothing. So
// the file is polled: its content (read through every symlink) is hashed every few seconds, and
// a different hash, including a file that became unreadable, triggers a reload. A read error is
// part of the fingerprint so that a file that disappears is reported (the reload fails and says
// why) instead of being silently ignored.

export type FileWatcherOptions = {
  file: string;
  /** The most bytes a look reads: the load's limit (maxFileBytes). */
  maxBytes: number;
  /** Seconds between two looks at the file. */
  intervalSeconds: number;
  /** Called once per change seen; the next look waits until it settles. */
  onChange: () => Promise<unknown>;
  /** Called when onChange rejects: the watcher keeps polling. */
  onError?: (error: unknown) => void;
  /**
   * The fingerprint taken before the caller loaded the file, so that a change between that load
   * and the first look is seen; without it the first look only records the content.
   */
  initialFingerprint?: string;
};

export type FileWatcher = {
  /** Stops polling; a change being handled is left to finish. */
  stop(): void;
};

/**
 * The content's hash, or the read error's code: what "the file changed" compares. At most one
 * byte past `maxBytes` is read, as readInventoryFile reads: a larger file (or /dev/zero) is
 * refused by the load all the same, and read whole it would take its size in memory at every look.
 * A FIFO opens without waiting for a writer (O_NONBLOCK), and is no regular file.
 */
export async function fileFingerprint(file: string, maxBytes: number): Promise<string> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = await handle.stat();
    if (!stat.isFile()) return 'error:not-a-file';
    const buffer = Buffer.allocUnsafe(Math.min(stat.size, maxBytes) + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    // The size too: two files past the limit that differ only beyond it are told apart by it, if at all.
    return `sha256:${createHash('sha256').update(buffer.subarray(0, length)).digest('hex')}:${stat.size}`;
  } catch (error) {
    return `error:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`;
  } finally {
    await handle?.close();
  }
}

/** Polls `file` and calls onChange when its content differs from the last look. */
export function watchFile(options: FileWatcherOptions): FileWatcher {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let last: string | undefined = options.initialFingerprint;

  const look = async () => {
    const now = await fileFingerprint(options.file, options.maxBytes);
    if (last !== undefined && now !== last && !stopped) {
      last = now;
      try {
        await options.onChange();
      } catch (error) {
        options.onError?.(error);
      }
      return;
    }
    last = now;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void look().finally(schedule);
    }, options.intervalSeconds * 1000);
    // The watcher alone must not keep the process alive.
    timer.unref();
  };
  void look().finally(schedule);

  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
