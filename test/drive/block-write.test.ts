/**
 * Writing cache blocks (block-write.ts) and the pooled aligned buffers (block-memory.ts): whole
 * blocks go to disk with O_DIRECT, bypassing the page cache, with exact bytes and sizes; a file
 * system that refuses direct I/O gets buffered writes; a failed write leaves no file.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdtemp, open, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlignedSlots, DIRECT_ALIGN } from '../../src/drive/block-cache/block-memory.js';
import { BlockWriter, checksum, type BlockWriteTarget } from '../../src/drive/block-cache/block-write.js';

const MIB = 1024 * 1024;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-block-write-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A target writing `<dir>/<name>.<sum>` and recording what was registered. */
function target(name: string, direct = true, stored?: string): BlockWriteTarget & { registered: Array<{ sum: string; bytes: number }> } {
  const registered: Array<{ sum: string; bytes: number }> = [];
  return {
    direct,
    registered,
    path: (sum) => join(dir, `${name}.${sum}`),
    alreadyStored: (sum) => sum === stored,
    register: (sum, bytes) => registered.push({ sum, bytes }),
  };
}

/** Bytes of `path` resident in the page cache (util-linux fincore). */
function residentBytes(path: string): number {
  return Number(execFileSync('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'RES', path], { encoding: 'utf8' }).trim());
}

/** Splits `content` into chunks of `size` (the way socket chunks arrive). */
function chunked(content: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < content.length; at += size) chunks.push(content.subarray(at, at + size));
  return chunks;
}

describe('AlignedSlots', () => {
  it('gives block-size slots rounded up to the direct-I/O alignment, within the budget and never fewer than the minimum', () => {
    const slots = new AlignedSlots(100_001, 1 * MIB, 4);
    expect(slots.slotBytes).toBe(Math.ceil(100_001 / DIRECT_ALIGN) * DIRECT_ALIGN);
    expect(slots.slots).toBe(Math.floor(MIB / slots.slotBytes));
    const big = new AlignedSlots(8 * MIB, 1 * MIB, 4);
    expect(big.slots).toBe(4);
    const taken = Array.from({ length: big.slots }, () => big.tryAcquire());
    for (const slot of taken) expect(slot?.length).toBe(8 * MIB);
    expect(new Set(taken.map((slot) => slot!.byteOffset)).size).toBe(4);
    expect(big.tryAcquire()).toBeUndefined();
    expect(big.misses).toBe(1);
    expect(big.inUse).toBe(4);
  });

  it('makes a waiting acquire wait for a release, and hands it the released slot', async () => {
    const slots = new AlignedSlots(64 * 1024, 0, 2);
    const a = slots.tryAcquire()!;
    slots.tryAcquire();
    let got: Buffer | undefined;
    const waiting = slots.acquire().then((slot) => (got = slot));
    await new Promise((resolve) => setImmediate(resolve));
    expect(got).toBeUndefined();
    slots.release(a);
    await waiting;
    expect(got).toBe(a);
    expect(slots.inUse).toBe(2);
  });

  it('asks to reclaim a slot when none is free, and hands out the one given back', () => {
    const slots = new AlignedSlots(64 * 1024, 0, 2);
    const held = [slots.tryAcquire()!, slots.tryAcquire()!];
    let asked = 0;
    slots.reclaim = () => {
      asked += 1;
      slots.release(held.pop()!);
      return true;
    };
    expect(slots.tryAcquire()).toBeDefined();
    expect(asked).toBe(1);
    expect(slots.misses).toBe(0);
    slots.reclaim = () => false;
    expect(slots.tryAcquire()).toBeUndefined();
    expect(slots.misses).toBe(1);
  });

  it('slots are aligned for O_DIRECT: the kernel takes a direct write from each of them', async () => {
    const slots = new AlignedSlots(64 * 1024, 4 * 64 * 1024, 4);
    for (let i = 0; i < 4; i += 1) {
      const slot = slots.tryAcquire()!;
      slot.fill(i + 1);
      const handle = await open(join(dir, `slot${i}`), constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT);
      try {
        expect((await handle.write(slot, 0, slot.length, 0)).bytesWritten).toBe(slot.length);
      } finally {
        await handle.close();
      }
    }
  });
});

describe('BlockWriter', () => {
  it('writes a whole block from socket-sized chunks with O_DIRECT: exact bytes, named by checksum, none of it left in the page cache', async () => {
    const content = randomBytes(MIB);
    const writer = new BlockWriter(MIB);
    const into = target('0');
    await writer.write(into, chunked(content, 65_536));
    const sum = await checksum([content]);
    expect(into.registered).toEqual([{ sum, bytes: MIB }]);
    const path = join(dir, `0.${sum}`);
    expect((await readFile(path)).equals(content)).toBe(true);
    // Read back above (readFile goes through the page cache): a fresh block shows the write itself.
    const second = randomBytes(MIB);
    const into2 = target('1');
    await writer.write(into2, chunked(second, 16_384));
    expect(residentBytes(join(dir, `1.${into2.registered[0]!.sum}`))).toBe(0);
    expect(writer.directIo).toBe(true);
  });

  it('writes a last block whose size is not a multiple of 4 KiB with its exact size (the pad is cut off)', async () => {
    const content = randomBytes(100_001);
    const writer = new BlockWriter(MIB);
    const into = target('7');
    await writer.write(into, chunked(content, 30_000));
    const path = join(dir, `7.${into.registered[0]!.sum}`);
    expect((await stat(path)).size).toBe(100_001);
    expect((await readFile(path)).equals(content)).toBe(true);
  });

  it('writes a block that lives in a pooled buffer straight from it, zeroing the pad past the block', async () => {
    const slots = new AlignedSlots(MIB, MIB, 1);
    const slot = slots.tryAcquire()!;
    slot.fill(0xee);
    const bytes = 5000;
    const content = randomBytes(bytes);
    content.copy(slot);
    const writer = new BlockWriter(MIB);
    const into = target('3');
    await writer.write(into, [slot.subarray(0, bytes)], slot);
    const path = join(dir, `3.${into.registered[0]!.sum}`);
    expect((await readFile(path)).equals(content)).toBe(true);
    expect(slot.subarray(bytes, DIRECT_ALIGN * 2).every((byte) => byte === 0)).toBe(true);
  });

  it('falls back to buffered writes for good when the file system refuses O_DIRECT, bytes exact', async () => {
    let directOpens = 0;
    const refusing = (async (path: string, flags: number, mode?: number) => {
      if (typeof flags === 'number' && (flags & constants.O_DIRECT) !== 0) {
        directOpens += 1;
        throw Object.assign(new Error(`EINVAL: invalid argument, open '${path}'`), { code: 'EINVAL' });
      }
      return open(path, flags, mode);
    }) as typeof open;
    const writer = new BlockWriter(MIB, true, refusing);
    for (const name of ['a', 'b', 'c']) {
      const content = randomBytes(200_000);
      const into = target(name);
      await writer.write(into, chunked(content, 65_536));
      expect((await readFile(join(dir, `${name}.${into.registered[0]!.sum}`))).equals(content)).toBe(true);
    }
    expect(directOpens).toBe(1);
    expect(writer.directIo).toBe(false);
  });

  it('writes nothing when a unit with the same checksum is already stored', async () => {
    const content = randomBytes(70_000);
    const sum = await checksum([content]);
    const into = target('5', true, sum);
    await new BlockWriter(MIB).write(into, [content]);
    expect(into.registered).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects with the disk error and leaves no file behind when a write fails', async () => {
    const failing = (async (path: string, flags: number, mode?: number) => {
      const handle = await open(path, flags, mode);
      // The disk fills up after the file was created.
      handle.write = (() => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }))) as typeof handle.write;
      handle.writev = (() => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }))) as typeof handle.writev;
      return handle;
    }) as typeof open;
    for (const direct of [true, false]) {
      const into = target(`f${direct}`, direct);
      await expect(new BlockWriter(MIB, true, failing).write(into, [randomBytes(MIB)])).rejects.toMatchObject({ code: 'ENOSPC' });
      expect(into.registered).toEqual([]);
    }
    expect(await readdir(dir)).toEqual([]);
  });
});
