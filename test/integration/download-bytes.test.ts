/**
 * Every byte the bridge streams comes through the download socket (src/fichier/download-socket.ts):
 * real rclone and curl read whole files and ranges through the bridge in front of the simulator,
 * with and without the block cache, and get the simulator's bytes exactly.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, streamToBuffer, type Stack } from './helpers.js';

const run = promisify(execFile);

async function has(binary: string): Promise<boolean> {
  return run('which', [binary]).then(
    () => true,
    () => false,
  );
}
const tools = { rclone: await has('rclone'), curl: await has('curl') };
for (const [binary, present] of Object.entries(tools)) {
  if (!present && process.env.CI) throw new Error(`${binary} is not installed; .ci/run must install it`);
}

describe.each([
  ['with the block cache', {}],
  ['without the block cache (--no-read-cache)', { readCache: false }],
])('byte-exact reads through the download socket (%s)', (_label, drive) => {
  let stack: Stack;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let fileUrl = '';
  const SIZE = 24 * 1024 * 1024 + 4321;

  beforeAll(async () => {
    stack = await startStack({}, { drive });
    fileUrl = await stack.sim.addFile({ name: 'movie.bin', synthetic: { size: SIZE, seed: 42 } });
    work = await mkdtemp(join(tmpdir(), 'fichier-dav-dl-'));
    const config = join(work, 'rclone.conf');
    await writeFile(config, '');
    env = { ...process.env, RCLONE_CONFIG: config, RCLONE_WEBDAV_URL: `${stack.url}/`, RCLONE_WEBDAV_VENDOR: 'other' };
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await rm(work, { recursive: true, force: true });
  });

  const expected = (start: number, end: number): Promise<Buffer> => streamToBuffer(stack.sim.contentOf(fileUrl, start, end));

  it.skipIf(!tools.rclone)('rclone cat reads the whole file and ranges across block edges, byte for byte', async () => {
    const rclone = (...args: string[]) => run('rclone', args, { env, maxBuffer: 64 * 1024 * 1024, encoding: 'buffer' });
    const whole = (await rclone('cat', ':webdav:movie.bin')).stdout;
    expect(whole.length).toBe(SIZE);
    expect(whole.equals(await expected(0, SIZE - 1))).toBe(true);
    for (const [offset, count] of [
      [1, 1],
      [4 * 1024 * 1024 - 7, 20_000],
      [SIZE - 5000, 5000],
    ] as const) {
      const piece = (await rclone('cat', '--offset', String(offset), '--count', String(count), ':webdav:movie.bin')).stdout;
      expect(piece.equals(await expected(offset, offset + count - 1))).toBe(true);
    }
  }, 120_000);

  it.skipIf(!tools.curl)('curl reads the whole file and ranges, byte for byte', async () => {
    const curl = (...args: string[]) => run('curl', ['-sf', ...args], { maxBuffer: 64 * 1024 * 1024, encoding: 'buffer' });
    const whole = (await curl(`${stack.url}/movie.bin`)).stdout;
    expect(whole.equals(await expected(0, SIZE - 1))).toBe(true);
    const tail = (await curl('-r', '-100', `${stack.url}/movie.bin`)).stdout;
    expect(tail.equals(await expected(SIZE - 100, SIZE - 1))).toBe(true);
    const middle = (await curl('-r', '8388600-12582920', `${stack.url}/movie.bin`)).stdout;
    expect(middle.equals(await expected(8_388_600, 12_582_920))).toBe(true);
  }, 120_000);
});
