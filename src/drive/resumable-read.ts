/**
 * A stream of exactly bytes [start, end] of an upstream file that survives upstream breaks: when
 * the upstream connection errors or ends early, it reopens from the byte reached (the opener
 * decides whether that needs a new download token) so the client never notices, up to a limit.
 *
 * Destroying the returned stream (client disconnect) destroys the current upstream request at
 * once: no bytes are fetched for nobody.
 */
import { Readable } from 'node:stream';

export interface OpenUpstream {
  (
    range: { start: number; end: number },
    context: { attempt: number; previousError?: Error; signal: AbortSignal },
  ): Promise<Readable>;
}

export interface ResumableReadOptions {
  start: number;
  /** Inclusive. */
  end: number;
  open: OpenUpstream;
  /** How many times a broken upstream may be reopened for this one read. */
  maxResumes: number;
  /** Aborted when the caller gives up (client disconnect). */
  signal?: AbortSignal;
  /** Called on each resume, for logs and metrics. */
  onResume?: (position: number, error: Error) => void;
  highWaterMark?: number;
  /**
   * Where the upstream connection is registered while this stream's reader does not read: it may
   * then be closed (parked) for another caller's benefit and is reopened from the byte reached
   * when the reader wants more. `file` names the upstream file for per-file caps.
   */
  parking?: { file: string; lot: { idle(file: string, park: () => void): () => void } };
}

export class UpstreamBrokenError extends Error {
  override readonly name = 'UpstreamBrokenError';
}

class ResumableRangeStream extends Readable {
  private position: number;
  private readonly end: number;
  private upstream: Readable | undefined;
  private resumes = 0;
  private readonly controller = new AbortController();
  private finished = false;
  /** The connection was closed while idle: the next _read reopens it. */
  private parked = false;
  private busyAgain: (() => void) | undefined;
  /** Settles once the first upstream request answered (or failed). */
  readonly opened: Promise<void>;
  private settleOpened!: (error?: Error | null) => void;

  constructor(private readonly options: ResumableReadOptions) {
    super({ highWaterMark: options.highWaterMark ?? 256 * 1024 });
    this.position = options.start;
    this.end = options.end;
    this.opened = new Promise<void>((resolve, reject) => {
      this.settleOpened = (error) => (error ? reject(error) : resolve());
    });
    // Observed by resumableReadWhenOpen; a stream used directly reports failures as 'error'.
    this.opened.catch(() => {});
    if (options.signal) {
      if (options.signal.aborted) this.controller.abort();
      else {
        // Removed when this stream closes: the signal is the client request's, which outlives
        // every part of a multi-range answer (64 parts left 64 listeners and a leak warning).
        const signal = options.signal;
        const onAbort = () => this.destroy();
        signal.addEventListener('abort', onAbort, { once: true });
        this.once('close', () => signal.removeEventListener('abort', onAbort));
      }
    }
  }

  override _construct(callback: (error?: Error | null) => void): void {
    if (this.position > this.end) {
      this.settleOpened();
      callback();
      return;
    }
    this.openFrom(undefined).then(
      () => {
        this.settleOpened();
        callback();
      },
      (error: Error) => {
        this.settleOpened(error);
        callback(error);
      },
    );
  }

  override _read(): void {
    if (this.position > this.end && !this.upstream && !this.finished) {
      this.finished = true;
      this.push(null);
      return;
    }
    if (this.parked) {
      this.parked = false;
      this.openFrom(undefined).catch((error: Error) => this.destroy(error));
      return;
    }
    this.notIdle();
    this.upstream?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.finished = true;
    this.notIdle();
    this.controller.abort();
    this.detach(true);
    callback(error);
  }

  private async openFrom(previousError: Error | undefined): Promise<void> {
    const attempt = this.resumes;
    const upstream = await this.options.open(
      { start: this.position, end: this.end },
      { attempt, previousError, signal: this.controller.signal },
    );
    if (this.finished || this.destroyed) {
      upstream.destroy();
      return;
    }
    this.attach(upstream);
  }

  private attach(upstream: Readable): void {
    this.upstream = upstream;
    upstream.on('data', (chunk: Buffer) => this.onData(upstream, chunk));
    upstream.once('end', () => this.onBreak(upstream, new UpstreamBrokenError('upstream ended early')));
    upstream.once('error', (error: Error) => this.onBreak(upstream, error));
    // Bytes flow only while the client reads.
    if (this.readableLength >= this.readableHighWaterMark) this.pauseUpstream(upstream);
  }

  private pauseUpstream(upstream: Readable): void {
    upstream.pause();
    const parking = this.options.parking;
    if (parking && !this.busyAgain) this.busyAgain = parking.lot.idle(parking.file, () => this.park());
  }

  private notIdle(): void {
    const busyAgain = this.busyAgain;
    this.busyAgain = undefined;
    busyAgain?.();
  }

  /** Closes the idle upstream connection; the reader's next read reopens it from `position`. */
  private park(): void {
    this.busyAgain = undefined;
    if (this.finished || this.destroyed || !this.upstream) return;
    this.detach(true);
    this.parked = true;
  }

  private detach(destroy: boolean): void {
    this.notIdle();
    const upstream = this.upstream;
    this.upstream = undefined;
    if (!upstream) return;
    upstream.removeAllListeners('data');
    upstream.removeAllListeners('end');
    upstream.removeAllListeners('error');
    // Late errors from a stream we dropped must not become uncaught exceptions.
    upstream.on('error', () => {});
    if (destroy) upstream.destroy();
  }

  private onData(upstream: Readable, chunk: Buffer): void {
    if (upstream !== this.upstream || this.finished) return;
    const remaining = this.end - this.position + 1;
    const piece = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
    this.position += piece.length;
    const wantsMore = this.push(piece);
    if (this.position > this.end) {
      this.finished = true;
      this.detach(true);
      this.push(null);
      return;
    }
    if (!wantsMore) this.pauseUpstream(upstream);
  }

  private onBreak(upstream: Readable, error: Error): void {
    if (upstream !== this.upstream || this.finished) return;
    this.detach(true);
    if (this.position > this.end) {
      this.finished = true;
      this.push(null);
      return;
    }
    if (this.controller.signal.aborted) return;
    if (this.resumes >= this.options.maxResumes) {
      this.destroy(
        new UpstreamBrokenError(
          `upstream broke at byte ${this.position} of ${this.end + 1} after ${this.resumes} resumes: ${error.message}`,
        ),
      );
      return;
    }
    this.resumes += 1;
    this.options.onResume?.(this.position, error);
    this.openFrom(error).catch((openError: Error) => this.destroy(openError));
  }
}

export function resumableRead(options: ResumableReadOptions): Readable {
  return new ResumableRangeStream(options);
}

/**
 * Like resumableRead, but resolves only once the first upstream request has answered, so a
 * failure to start (no download link, flood, file gone) rejects here, before the caller has sent
 * a status line, instead of surfacing as a broken stream.
 */
export async function resumableReadWhenOpen(options: ResumableReadOptions): Promise<Readable> {
  const stream = new ResumableRangeStream(options);
  // The failed start also surfaces as an 'error' event, which nobody else listens to yet.
  const swallow = () => {};
  stream.on('error', swallow);
  try {
    await stream.opened;
  } catch (error) {
    stream.destroy();
    throw error;
  }
  stream.off('error', swallow);
  return stream;
}
