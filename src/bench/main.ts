#!/usr/bin/env node
/**
 * `npm run bench`: starts the simulator and the bridge (each in its own process), measures every
 * row of the performance table against the direct path in the same run, prints the table and
 * writes bench/results.json. Not part of `npm test`: figures here are timings, never assertions.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ArgsError, parseArgs, USAGE, type RowName } from './args.js';
import { elapsedMs, now } from './clock.js';
import { FULL, QUICK, type BenchConfig } from './config.js';
import { closeAllStacks } from './stack.js';
import { agent } from './http.js';
import { machine } from './machine.js';
import type { Row } from './result.js';
import { runBridges } from './rows/bridges.js';
import { runCache } from './rows/cache.js';
import { runGet } from './rows/get.js';
import { runLoad } from './rows/load.js';
import { runMedia } from './rows/media.js';
import { runProbe } from './rows/probe.js';
import { runPropfind } from './rows/propfind.js';
import { runPut } from './rows/put.js';
import { runScan } from './rows/scan.js';
import { renderTable } from './table.js';

const RUNNERS: Record<RowName, (config: BenchConfig) => Promise<Row[]>> = {
  propfind: runPropfind,
  get: runGet,
  probe: runProbe,
  put: runPut,
  scan: runScan,
  load: runLoad,
  cache: runCache,
  bridges: runBridges,
  media: runMedia,
};

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof ArgsError) {
      process.stderr.write(`bench: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const base = parsed.quick ? QUICK : FULL;
  const config: BenchConfig = parsed.timeScale === undefined ? base : { ...base, scanTimeScale: parsed.timeScale };
  // Slower time-scaled rows get proportionally longer.
  const slowdown = Math.max(1, config.scanTimeScale / base.scanTimeScale);
  const rows: Row[] = [];
  const started = now();
  const timings: Record<string, number> = {};
  for (const name of parsed.only) {
    process.stderr.write(`bench: ${name}...\n`);
    const rowStarted = now();
    let timer: NodeJS.Timeout | undefined;
    const limitS = (config.quick ? 60 : 300) * slowdown;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`row did not finish within ${limitS} s`)), limitS * 1000);
    });
    try {
      rows.push(...(await Promise.race([RUNNERS[name](config), timeout])));
    } catch (error) {
      await closeAllStacks();
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`bench: ${name} failed: ${message}\n`);
      rows.push({ row: name, measure: `${name} FAILED`, bridge: '-', direct: '-', ratio: '-', apiCalls: '-', target: '-', met: 'no', note: message, values: { error: message } });
    }
    clearTimeout(timer);
    timings[name] = elapsedMs(rowStarted) / 1000;
    process.stderr.write(`bench: ${name} done in ${timings[name]!.toFixed(1)} s\n`);
  }
  const totalSeconds = elapsedMs(started) / 1000;
  const host = machine();
  const table = renderTable(rows);
  process.stdout.write(`\nfichier-dav bench (${config.quick ? 'quick' : 'full'}) on ${host.nproc} x ${host.cpu}, ${host.ramGiB} GiB RAM, Node ${host.node}; ${totalSeconds.toFixed(0)} s\n\n${table}\n`);
  const results = { when: new Date().toISOString(), mode: config.quick ? 'quick' : 'full', machine: host, config, totalSeconds, rowSeconds: timings, rows, table };
  await mkdir(dirname(parsed.out), { recursive: true });
  await writeFile(parsed.out, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(`\nwrote ${parsed.out}\n`);
  await agent.close();
  return rows.some((r) => r.values.error !== undefined) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
