/**
 * Upload bodies of any size without holding them in memory: a 1 MiB random block repeated
 * (rotated per block so no two blocks are equal), produced lazily.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

const BLOCK = 1 << 20;
const pattern = randomBytes(BLOCK * 2);

export function payload(size: number): Readable {
  let sent = 0;
  let block = 0;
  return new Readable({
    highWaterMark: BLOCK,
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const take = Math.min(BLOCK, size - sent);
      const offset = (block * 7919) % BLOCK;
      this.push(pattern.subarray(offset, offset + take));
      sent += take;
      block++;
    },
  });
}
