/**
 * The media-probe pattern (what Plex/Jellyfin/ffprobe do to every file on a scan): the first
 * MiB, the last MiB and one MiB in the middle.
 */
import { expectStatus, rangeHeader } from './http.js';

export interface ProbeTarget {
  path: string;
  size: number;
}

export function probeRanges(size: number, length: number): { start: number; end: number }[] {
  const mid = Math.floor(size / 2);
  return [
    { start: 0, end: length - 1 },
    { start: size - length, end: size - 1 },
    { start: mid, end: mid + length - 1 },
  ];
}

/** Probes every target one after the other; returns the total bytes read. */
export async function probeAll(base: string, targets: ProbeTarget[], length: number): Promise<number> {
  let bytes = 0;
  for (const target of targets) {
    for (const range of probeRanges(target.size, length)) {
      const res = await expectStatus(`${base}${target.path}`, { headers: rangeHeader(range.start, range.end) }, [206]);
      if (res.bytes !== length) throw new Error(`probe of ${target.path} returned ${res.bytes} of ${length} bytes`);
      bytes += res.bytes;
    }
  }
  return bytes;
}
