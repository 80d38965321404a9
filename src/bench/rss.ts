/**
 * Resident memory of another process from /proc/<pid>/status (Linux). VmHWM is the peak since
 * start or since the last reset; writing "5" to /proc/<pid>/clear_refs resets it, which lets one
 * bridge process report a separate peak per phase. A 50 ms sampler backs it up where the reset
 * is not allowed.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface Rss {
  rssMb: number;
  hwmMb: number;
}

function field(status: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

export function readRss(pid: number): Rss {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rssMb: field(status, 'VmRSS'), hwmMb: field(status, 'VmHWM') };
  } catch {
    return { rssMb: NaN, hwmMb: NaN };
  }
}

/** Tracks the peak RSS of `pid` during a phase: max(sampled VmRSS, VmHWM after a reset). */
export class PeakTracker {
  private sampled = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly hwmReset: boolean;

  constructor(private readonly pid: number) {
    let reset = false;
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
      reset = true;
    } catch {
      reset = false;
    }
    this.hwmReset = reset;
    this.sample();
    this.timer = setInterval(() => this.sample(), 50);
    this.timer.unref();
  }

  private sample(): void {
    const { rssMb } = readRss(this.pid);
    if (Number.isFinite(rssMb)) this.sampled = Math.max(this.sampled, rssMb);
  }

  /** Stops sampling and returns the phase's peak in MB. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    const { hwmMb } = readRss(this.pid);
    return this.hwmReset && Number.isFinite(hwmMb) ? Math.max(hwmMb, this.sampled) : this.sampled;
  }
}
