/** Monotonic time for measurements (process.hrtime), in milliseconds. */
export function now(): bigint {
  return process.hrtime.bigint();
}

export function elapsedMs(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
