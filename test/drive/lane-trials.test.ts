/**
 * The parallel-stream trials (src/drive/block-cache/lane-trials.ts), driven by a model reader on a
 * hand-moved clock: each step the reader takes what its lanes bring in (a per-connection cap: each
 * lane brings its own share; a shared line: the lanes split one rate) and waits for the link the
 * whole time. Nothing here depends on real time; the end-to-end behaviour (real sockets, the
 * simulator's caps) is in test/integration/parallel-streams.test.ts and bench row M3.
 */
import { describe, expect, it } from 'vitest';
import { LaneTrials } from '../../src/drive/block-cache/lane-trials.js';
import { emptyStats } from '../../src/drive/block-cache/stats.js';

const MIB = 1024 * 1024;
const BLOCK = MIB;
const MAX_WINDOW = 64 * MIB;
const STEP_MS = 10;

interface Run {
  /** Lanes after each step, with the reader's position then. */
  history: Array<{ position: number; lanes: number }>;
  stats: ReturnType<typeof emptyStats>;
}

/**
 * Reads `size` bytes at `rate(lanes)` bytes per ms. A change of lanes takes effect one step later
 * (a new connection's start), and the reader's window grows the way cached-read.ts grows it (from
 * one block, doubling once the reader took more than 8 MiB).
 */
function read(size: number, rate: (lanes: number) => number, maxLanes = 4): Run {
  let now = 0;
  const stats = emptyStats();
  const trials = new LaneTrials(0, { maxLanes, maxWindow: MAX_WINDOW, blockSize: BLOCK, stats }, () => now);
  let position = 0;
  let window = BLOCK;
  let grownAt = 0;
  let effective = 1;
  const history: Run['history'] = [];
  while (position < size) {
    now += STEP_MS;
    position = Math.min(size, position + rate(effective) * STEP_MS);
    trials.starved(STEP_MS);
    if (window < MAX_WINDOW && position >= 8 * MIB && position - grownAt >= window) {
      grownAt = position;
      window = Math.min(MAX_WINDOW, window * 2);
    }
    effective = trials.lanes;
    const action = trials.look({ position, end: size - 1, window, limitHits: 0, fetchedThrough: () => position - 1 });
    if (action === 'refill') trials.connectionsRunning(trials.lanes, position);
    history.push({ position, lanes: trials.lanes });
  }
  return { history, stats };
}

/**
 * Like `read`, but the reader itself takes at most `readerRate` bytes per ms (a bridge short of
 * CPU): the lanes bring `link(lanes)` into what is fetched, up to the reader's window ahead of it,
 * and the reader waits for the link only when it caught up with what is fetched. When it lags,
 * the window fills, the lanes wait for it (their transfers pause at its limit), and what they
 * fetched lies ready ahead of it.
 */
function readBehind(size: number, link: (lanes: number) => number, readerRate: (position: number) => number, maxLanes: number): Run {
  let now = 0;
  const stats = emptyStats();
  const trials = new LaneTrials(0, { maxLanes, maxWindow: MAX_WINDOW, blockSize: BLOCK, stats }, () => now);
  let position = 0;
  let fetched = 0;
  let window = BLOCK;
  let grownAt = 0;
  let effective = 1;
  let limitHits = 0;
  const history: Run['history'] = [];
  while (position < size) {
    now += STEP_MS;
    const edge = Math.min(size, position + window);
    fetched = Math.min(edge, fetched + link(effective) * STEP_MS);
    if (fetched === edge) limitHits += 1;
    const most = readerRate(position) * STEP_MS;
    const take = Math.min(most, fetched - position);
    position += take;
    trials.starved(STEP_MS * (1 - take / most));
    if (window < MAX_WINDOW && position >= 8 * MIB && position - grownAt >= window) {
      grownAt = position;
      window = Math.min(MAX_WINDOW, window * 2);
    }
    effective = trials.lanes;
    const action = trials.look({ position, end: size - 1, window, limitHits, fetchedThrough: () => fetched - 1 });
    if (action === 'refill') trials.connectionsRunning(trials.lanes, position);
    history.push({ position, lanes: trials.lanes });
  }
  return { history, stats };
}

/** Position at which the reader first ran at `lanes` lanes (Infinity if never). */
function firstAt(run: Run, lanes: number): number {
  return run.history.find((step) => step.lanes === lanes)?.position ?? Number.POSITIVE_INFINITY;
}

describe('parallel-stream trials', () => {
  it('reach 4 lanes early when each connection is capped (20 MB/s each), and never halve them again', () => {
    const cap = 20e6 / 1000;
    const run = read(512 * MIB, (lanes) => lanes * cap);
    // The earlier code got there at about 34 MiB and checked the doubling again by halving.
    expect(firstAt(run, 4)).toBeLessThan(30 * MIB);
    const fromFour = run.history.slice(run.history.findIndex((step) => step.lanes === 4));
    expect(fromFour.every((step) => step.lanes === 4)).toBe(true);
    expect(run.stats.parallelKept).toBe(2);
  });

  it('reach and keep 5 lanes with --parallel-streams 5 and a per-connection cap (the step from 4 to 5 can give 1.25x at most)', () => {
    const cap = 20e6 / 1000;
    const run = read(512 * MIB, (lanes) => lanes * cap, 5);
    // The earlier code asked the fifth lane for 1.3x like a doubling: it undid it, and tried again
    // and undid it every 64-128 MiB.
    expect(firstAt(run, 5)).toBeLessThan(80 * MIB);
    const fromFive = run.history.slice(run.history.findIndex((step) => step.lanes === 5));
    expect(fromFive.every((step) => step.lanes === 5)).toBe(true);
    expect(run.stats.parallelTrials).toBe(3);
    expect(run.stats.parallelKept).toBe(3);
  });

  it('undo a fifth lane that brings nothing (the limit is 4 connections elsewhere)', () => {
    const cap = 20e6 / 1000;
    const run = read(512 * MIB, (lanes) => Math.min(lanes, 4) * cap, 5);
    expect(run.stats.parallelKept).toBe(2);
    expect(run.history.at(-1)!.lanes).toBe(4);
    // Undone trials of the fifth lane back off like any other (32, 64, 128 MiB... apart).
    expect(run.stats.parallelTrials).toBeLessThanOrEqual(2 + 4);
  });

  it('with --parallel-streams 5 on a shared line, keep no lane more than with 4', () => {
    const run = read(52 * MIB, () => 8e6 / 1000, 5);
    expect(run.stats.parallelKept).toBe(0);
    expect(run.history.at(-1)!.lanes).toBe(1);
  });

  it('judge a halving of the lanes only on bytes fetched after it, not on a full window read at the reader\'s own speed', () => {
    // 20 MB/s per connection and 64 MB/s in all: 4 lanes give 1.6x what 2 give, a doubling kept
    // but checked again later by halving. From 96 MiB on, the reader takes at most 60 MB/s (a
    // loaded machine): still more than 2 lanes bring (40), but the window ahead of it fills.
    const run = readBehind(512 * MIB, (lanes) => Math.min(lanes * 20e3, 64e3), (position) => (position < 96 * MIB ? 200e3 : 60e3), 4);
    const four = run.history.findIndex((step) => step.lanes === 4);
    expect(four).toBeGreaterThan(0);
    // Bytes read at fewer lanes once 4 were kept: each halving check costs its measure, and a
    // halving judged right is undone. The earlier code judged a later halving on the 64 MiB
    // already fetched, found the reader as fast at 2 lanes, stayed there and even went to 1
    // (about 200 MiB at fewer lanes).
    let fewer = 0;
    for (let at = four + 1; at < run.history.length; at += 1) {
      if (run.history[at]!.lanes < 4) fewer += run.history[at]!.position - run.history[at - 1]!.position;
    }
    expect(fewer).toBeLessThan(64 * MIB);
    expect(run.history.at(-1)!.lanes).toBe(4);
  });

  it('after an undone doubling, measure the lanes left past what the undone lanes fetched ahead', () => {
    // 20 MB/s per connection; the reader takes only 30 MB/s between 40 and 70 MiB (a loaded
    // machine), so the doubling to 4 on trial then is undone and the window fills ahead of it.
    // When the reader is fast again it reads that window at its own speed: the rate "at 2 lanes"
    // the next doubling is judged against.
    const run = readBehind(512 * MIB, (lanes) => lanes * 20e3, (position) => (position >= 40 * MIB && position < 70 * MIB ? 30e3 : 200e3), 4);
    let fewer = 0;
    for (let at = 1; at < run.history.length; at += 1) {
      if (run.history[at]!.position > 70 * MIB && run.history[at]!.lanes < 4) fewer += run.history[at]!.position - run.history[at - 1]!.position;
    }
    // The earlier code undid the next doubling too (judged against the window read at 200 MB/s)
    // and read 120 MiB at 2 lanes after the slow spell, over 4 trials.
    expect(fewer).toBeLessThan(80 * MIB);
    expect(run.stats.parallelTrials).toBe(3);
    expect(run.history.at(-1)!.lanes).toBe(4);
  });

  it('go back to one lane when the lanes share one line (8 MB/s in all), and keep no doubling', () => {
    const run = read(52 * MIB, () => 8e6 / 1000);
    expect(run.stats.parallelTrials).toBeGreaterThanOrEqual(1);
    expect(run.stats.parallelKept).toBe(0);
    expect(run.history.at(-1)!.lanes).toBe(1);
    // Undone trials back off: after the first one, the next waits at least 32 MiB.
    const tries = run.history.filter((step, at) => at > 0 && step.lanes > run.history[at - 1]!.lanes).map((step) => step.position);
    for (let at = 1; at < tries.length; at += 1) expect(tries[at]! - tries[at - 1]!).toBeGreaterThanOrEqual(32 * MIB);
  });

  it('start no trial that the end of the read would cut short (it costs connections and decides nothing)', () => {
    // Shared line, 52 MiB: the first trial is undone by about 10 MiB; the back-off lets the next
    // one start past 42 MiB, where the 10 MiB left cannot hold its start and its 16 MiB measure.
    const run = read(52 * MIB, () => 8e6 / 1000);
    expect(run.stats.parallelTrials).toBe(1);
    const last = run.history.findLastIndex((step) => step.lanes > 1);
    expect(run.history[last]!.position).toBeLessThan(16 * MIB);
  });

  it('keep no doubling over a 1 GiB read limited by something else (a busy bridge on loopback), and try ever more rarely', () => {
    const run = read(1024 * MIB, () => 100e6 / 1000);
    expect(run.stats.parallelKept).toBe(0);
    // Back-off: each undone trial doubles the gap to the next (32, 64, 128, 256, 512 MiB).
    expect(run.stats.parallelTrials).toBeLessThanOrEqual(5);
  });
});
