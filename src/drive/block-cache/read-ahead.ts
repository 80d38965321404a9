/**
 * Sequential-reader detection per file. A read that starts where the previous one ended (up to
 * 64 KiB before it or one block after it), or an open-ended `bytes=N-` stream, is sequential: its transfer
 * reaches further ahead, doubling with each sequential read up to the limit. Any other read is a
 * seek: the window falls back to one block and the read-ahead still running for that file
 * (transfers whose reader already finished) stops at the end of the block it is in.
 */
import { LRUCache } from 'lru-cache';
import type { SpanFetch } from './span-fetch.js';

/** How far before the previous end a read may start and still count as sequential. */
const BACKTRACK = 64 * 1024;

interface Session {
  /** Where a sequential reader would start next. */
  next: number;
  window: number;
  readAhead: Set<SpanFetch>;
}

export interface ReadPlan {
  sequential: boolean;
  /** The read starts where the previous read of the file ended (give or take BACKTRACK). */
  contiguous: boolean;
  /** The read runs to the end of the file and is longer than a block (`bytes=N-`). */
  openEnded: boolean;
  /** Pacing window of the read's transfer (bytes ahead of the reader). */
  window: number;
  /** Bytes to fetch beyond the read's end in the same GET (0 when not sequential). */
  extension: number;
}

export class ReadAheadTracker {
  private readonly sessions = new LRUCache<string, Session>({ max: 4096 });

  constructor(
    private readonly blockSize: number,
    private readonly maxBytes: number,
    private readonly onCancelled: () => void,
  ) {}

  /** Called when a read of [start, end] begins. */
  begin(key: string, start: number, end: number, size: number): ReadPlan {
    const session = this.sessions.get(key);
    const openEnded = end === size - 1 && end - start + 1 > this.blockSize;
    // Players re-read a little (a few KiB) or skip a little: that is still sequential.
    const followsOn = session !== undefined && start >= session.next - BACKTRACK && start <= session.next + this.blockSize;
    const sequential = this.maxBytes > 0 && (followsOn || openEnded);
    if (session && !followsOn) this.cancel(session);
    const window = sequential && followsOn && session ? Math.min(Math.max(this.maxBytes, this.blockSize), session.window * 2) : this.blockSize;
    const next: Session = { next: end + 1, window, readAhead: session?.readAhead ?? new Set() };
    this.sessions.set(key, next);
    const contiguous = session !== undefined && Math.abs(start - session.next) <= BACKTRACK;
    return { sequential, contiguous, openEnded, window, extension: sequential && !openEnded ? Math.min(window, size - 1 - end) : 0 };
  }

  /** Where the reader actually stopped (an open-ended stream is usually abandoned early). */
  stoppedAt(key: string, position: number): void {
    const session = this.sessions.get(key);
    if (session) session.next = position;
  }

  /** A transfer whose reader finished keeps running as read-ahead until its span ends or a seek. */
  adopt(key: string, fetch: SpanFetch): void {
    if (!fetch.isRunning) return;
    let session = this.sessions.get(key);
    if (!session) {
      session = { next: fetch.end + 1, window: this.blockSize, readAhead: new Set() };
      this.sessions.set(key, session);
    }
    const readAhead = session.readAhead;
    readAhead.add(fetch);
    void fetch.done.then(() => readAhead.delete(fetch));
  }

  private cancel(session: Session): void {
    for (const fetch of session.readAhead) {
      if (fetch.isRunning && fetch.truncate()) this.onCancelled();
    }
    session.readAhead.clear();
  }
}
