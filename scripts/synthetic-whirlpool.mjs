#!/usr/bin/env node
/**
 * Prints the real Whirlpool of a synthetic simulator file: `node scripts/synthetic-whirlpool.mjs
 * <size> <seed>` (after `npm run build`). The simulator hashes synthetic files up to 16 MiB when
 * they are made; the demo fixture's larger files carry digests computed once with this script
 * (about a minute per 4 GiB); other large ones a stand-in (docs/simulator.md).
 */
import { SyntheticContent } from '../dist/simulator/content.js';

const [size, seed] = process.argv.slice(2).map(Number);
if (process.argv.length !== 4 || !Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(seed)) {
  console.error('usage: node scripts/synthetic-whirlpool.mjs <size in bytes> <seed> (run `npm run build` first)');
  process.exit(2);
}
console.log(await SyntheticContent.realWhirlpool(size, seed));
