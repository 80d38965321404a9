/**
 * Transfer progress on stderr (stdout stays clean for results and --json): bars with bytes, rate
 * and ETA per file plus a total (cli-progress) when stderr is a terminal; otherwise plain lines
 * every few seconds and one at the end of each file, which log files and CI consoles keep readable.
 */
import cliProgress from 'cli-progress';
import { humanDuration, humanRate, humanSize } from './format.js';

export interface Transfer {
  /** Total bytes done so far for this file (including a resumed prefix). */
  update(bytes: number): void;
  /** A stage without byte progress, e.g. "verifying" after the last byte of an upload. */
  stage(text: string): void;
  done(): void;
  fail(reason: string): void;
}

export interface Progress {
  start(name: string, size: number, initialBytes?: number): Transfer;
  /** A message that must not be overwritten by the bars. */
  log(line: string): void;
  stop(): void;
}

export interface ProgressOptions {
  /** "upload" or "download": the first word of every plain line. */
  verb: string;
  stream?: NodeJS.WriteStream;
  /** Bars (true) or plain lines (false). Default: whether the stream is a TTY. */
  tty?: boolean;
  /** Seconds between plain lines. */
  intervalSeconds: number;
  quiet?: boolean;
  now?: () => number;
}

interface Tracked {
  name: string;
  size: number;
  bytes: number;
  /** Bytes already there when this run started (a resumed download): not counted in the rate. */
  initial: number;
  startedAt: number;
  stage?: string;
  finished: boolean;
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return quietProgress(stream);
  const tty = options.tty ?? Boolean(stream.isTTY);
  return tty ? new BarProgress(stream, options) : new PlainProgress(stream, options);
}

function rateOf(t: Tracked, now: number): number {
  const seconds = (now - t.startedAt) / 1000;
  return seconds > 0 ? (t.bytes - t.initial) / seconds : 0;
}

function etaOf(t: Tracked, now: number): number | undefined {
  const rate = rateOf(t, now);
  return rate > 0 ? (t.size - t.bytes) / rate : undefined;
}

function percent(bytes: number, size: number): string {
  return size > 0 ? `${Math.floor((bytes / size) * 100)}%` : '100%';
}

function quietProgress(stream: NodeJS.WriteStream): Progress {
  const transfer: Transfer = { update: () => {}, stage: () => {}, done: () => {}, fail: () => {} };
  return { start: () => transfer, log: (line) => stream.write(`${line}\n`), stop: () => {} };
}

class PlainProgress implements Progress {
  private readonly now: () => number;
  private readonly files: Tracked[] = [];
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly startedAt: number;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly options: ProgressOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.timer = setInterval(() => this.tick(), Math.max(10, options.intervalSeconds * 1000));
    this.timer.unref();
  }

  start(name: string, size: number, initialBytes = 0): Transfer {
    const t: Tracked = { name, size, bytes: initialBytes, initial: initialBytes, startedAt: this.now(), finished: false };
    this.files.push(t);
    return {
      update: (bytes) => (t.bytes = bytes),
      stage: (text) => (t.stage = text),
      done: () => {
        t.finished = true;
        t.bytes = t.size;
        const seconds = (this.now() - t.startedAt) / 1000;
        const moved = t.size - t.initial;
        const resumed = t.initial > 0 ? `, resumed at ${humanSize(t.initial)}` : '';
        this.line(`${this.options.verb} ${t.name}: done, ${humanSize(moved)} in ${humanDuration(seconds)} (${humanRate(seconds > 0 ? moved / seconds : moved)})${resumed}`);
      },
      fail: (reason) => {
        t.finished = true;
        this.line(`${this.options.verb} ${t.name}: failed at ${humanSize(t.bytes)} of ${humanSize(t.size)}: ${reason}`);
      },
    };
  }

  log(line: string): void {
    this.line(line);
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.files.length > 1) this.line(this.totalLine('total'));
  }

  private tick(): void {
    const now = this.now();
    const active = this.files.filter((t) => !t.finished);
    for (const t of active) {
      const stage = t.stage ? `, ${t.stage}` : '';
      this.line(
        `${this.options.verb} ${t.name}: ${humanSize(t.bytes)} / ${humanSize(t.size)} (${percent(t.bytes, t.size)}), ${humanRate(rateOf(t, now))}, ETA ${humanDuration(etaOf(t, now))}${stage}`,
      );
    }
    if (active.length > 0 && this.files.length > 1) this.line(this.totalLine('total so far'));
  }

  private totalLine(label: string): string {
    const size = this.files.reduce((sum, t) => sum + t.size, 0);
    const bytes = this.files.reduce((sum, t) => sum + t.bytes, 0);
    const moved = bytes - this.files.reduce((sum, t) => sum + t.initial, 0);
    const seconds = (this.now() - this.startedAt) / 1000;
    return `${this.options.verb} ${label}: ${this.files.length} files, ${humanSize(bytes)} / ${humanSize(size)} (${percent(bytes, size)}) in ${humanDuration(seconds)} (${humanRate(seconds > 0 ? moved / seconds : moved)})`;
  }

  private line(text: string): void {
    this.stream.write(`${text}\n`);
  }
}

class BarProgress implements Progress {
  private readonly bars: cliProgress.MultiBar;
  private readonly now: () => number;
  private readonly files: Tracked[] = [];
  private total: cliProgress.SingleBar | undefined;
  private readonly startedAt: number;

  constructor(stream: NodeJS.WriteStream, private readonly options: ProgressOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.bars = new cliProgress.MultiBar(
      {
        stream,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        fps: 5,
        barsize: 24,
        format: (barOptions, params, payload: { line?: (bar: string) => string }) => {
          const size = barOptions.barsize ?? 24;
          const filled = Math.round(Math.max(0, Math.min(1, params.progress)) * size);
          const bar = (barOptions.barCompleteString ?? '█').slice(0, filled) + (barOptions.barIncompleteString ?? '░').slice(0, size - filled);
          return payload.line ? payload.line(bar) : bar;
        },
      },
      cliProgress.Presets.shades_classic,
    );
  }

  start(name: string, size: number, initialBytes = 0): Transfer {
    const t: Tracked = { name, size, bytes: initialBytes, initial: initialBytes, startedAt: this.now(), finished: false };
    this.files.push(t);
    const shown = name.length > 32 ? `…${name.slice(-31)}` : name.padEnd(32);
    const line = (bar: string): string => {
      const now = this.now();
      const tail = t.stage ?? (t.finished ? 'done' : `${humanRate(rateOf(t, now))} ETA ${humanDuration(etaOf(t, now))}`);
      return `${shown} ${bar} ${percent(t.bytes, t.size).padStart(4)} ${humanSize(t.bytes)}/${humanSize(t.size)} ${tail}`;
    };
    const bar = this.bars.create(Math.max(1, size), Math.min(initialBytes, Math.max(1, size)), { line });
    this.refreshTotal();
    return {
      update: (bytes) => {
        t.bytes = bytes;
        bar.update(Math.min(bytes, Math.max(1, size)), { line });
        this.refreshTotal();
      },
      stage: (text) => {
        t.stage = text;
        bar.update({ line });
      },
      done: () => {
        t.finished = true;
        t.bytes = t.size;
        t.stage = 'done';
        bar.update(Math.max(1, size), { line });
        this.refreshTotal();
      },
      fail: (reason) => {
        t.finished = true;
        t.stage = `failed: ${reason}`;
        bar.update({ line });
      },
    };
  }

  log(line: string): void {
    this.bars.log(`${line}\n`);
  }

  stop(): void {
    this.bars.update();
    this.bars.stop();
  }

  private refreshTotal(): void {
    if (this.files.length < 2) return;
    const size = this.files.reduce((sum, t) => sum + t.size, 0);
    const bytes = this.files.reduce((sum, t) => sum + t.bytes, 0);
    const line = (bar: string): string => {
      const seconds = (this.now() - this.startedAt) / 1000;
      const moved = bytes - this.files.reduce((sum, t) => sum + t.initial, 0);
      const rate = seconds > 0 ? moved / seconds : 0;
      const eta = rate > 0 ? (size - bytes) / rate : undefined;
      return `${'total'.padEnd(32)} ${bar} ${percent(bytes, size).padStart(4)} ${humanSize(bytes)}/${humanSize(size)} ${humanRate(rate)} ETA ${humanDuration(eta)}`;
    };
    if (!this.total) this.total = this.bars.create(Math.max(1, size), 0, { line });
    this.total.setTotal(Math.max(1, size));
    this.total.update(Math.min(bytes, Math.max(1, size)), { line });
  }
}
