/**
 * Per-path ordering of writes. Two writes whose paths overlap (the same path, or one inside the
 * other: a PUT into a folder being deleted or moved) run one after the other, in arrival order;
 * writes on unrelated paths run at once. A MOVE or COPY takes its source and destination together
 * in one acquire, so two transfers crossing each other (A→B while B→A) cannot deadlock.
 *
 * Why: 1fichier never overwrites (an upload beside an existing name makes a second file), so two
 * PUTs of one path at once, or a MOVE onto a path being uploaded, would each plan against the old
 * state and leave duplicates or move onto a file that is being replaced.
 *
 * `PathLocks` is the seam: this in-process implementation orders the writes of one bridge; several
 * bridges on one account need a shared one (e.g. over Redis) with the same contract.
 */

/** Gives the paths back; safe to call more than once. */
export type Release = () => void;

export interface PathLocks {
  /**
   * Waits until no earlier holder or waiter overlaps any of `paths` (drive paths, '/'-separated,
   * absolute), then holds them all until the returned release is called.
   */
  acquire(paths: readonly string[]): Promise<Release>;
}

interface Holder {
  paths: readonly string[];
  done: Promise<void>;
}

/** True when one path is the other or lies inside it. */
export function pathsOverlap(a: string, b: string): boolean {
  if (a === b || a === '/' || b === '/') return true;
  return a.startsWith(b + '/') || b.startsWith(a + '/');
}

/**
 * The in-process implementation: one FIFO of holders and waiters. Each new acquire waits for every
 * earlier entry it overlaps; since it only ever waits for entries queued before it, no cycle (and
 * so no deadlock) can form, whatever order the paths are given in.
 */
export class InProcessPathLocks implements PathLocks {
  private readonly queue: Holder[] = [];

  async acquire(paths: readonly string[]): Promise<Release> {
    const wanted = [...new Set(paths)];
    const blockers = this.queue.filter((entry) => entry.paths.some((held) => wanted.some((path) => pathsOverlap(held, path))));
    let finish!: () => void;
    const holder: Holder = { paths: wanted, done: new Promise<void>((resolve) => (finish = resolve)) };
    this.queue.push(holder);
    let released = false;
    const release: Release = () => {
      if (released) return;
      released = true;
      const index = this.queue.indexOf(holder);
      if (index >= 0) this.queue.splice(index, 1);
      finish();
    };
    await Promise.all(blockers.map((entry) => entry.done));
    return release;
  }

  /** Entries holding or waiting (for tests and metrics). */
  get size(): number {
    return this.queue.length;
  }
}
