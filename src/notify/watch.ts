/**
 * `--watch /Folder --watch-interval 10m`: lists the watched folders (and their sub-folders) again
 * every interval at background priority, so changes made elsewhere are noticed (and notified)
 * without a client browsing. One pass at a time; the scheduler paces the listings within the API
 * budget, behind every interactive call, and 1fichier's 30 s per-folder window is respected.
 */
export interface WatchOptions {
  folders: string[];
  intervalMs: number;
  /** Lists one watched tree again; resolves with the number of folders listed. */
  refresh(path: string): Promise<number>;
  logger?: { info(message: string, fields?: Record<string, unknown>): void; warn(message: string, fields?: Record<string, unknown>): void };
}

export interface Watching {
  /** Runs one pass now (tests, and the first baseline). */
  runOnce(): Promise<void>;
  stop(): void;
}

export function startWatching(options: WatchOptions): Watching {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> | undefined;
  const pass = async (): Promise<void> => {
    for (const folder of options.folders) {
      if (stopped) return;
      try {
        const listed = await options.refresh(folder);
        options.logger?.info('watch: listed again', { folder, folders: listed });
      } catch (error) {
        options.logger?.warn('watch: cannot list a watched folder', { folder, error: error instanceof Error ? error.message : String(error) });
      }
    }
  };
  const runOnce = (): Promise<void> => (running ??= pass().finally(() => (running = undefined)));
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void runOnce().finally(schedule), options.intervalMs);
    timer.unref();
  };
  // The first pass lists what is not cached yet: the baseline later passes are compared with.
  void runOnce().finally(schedule);
  return {
    runOnce,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
