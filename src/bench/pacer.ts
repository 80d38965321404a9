/**
 * Spaces calls at most `perSecond` apart. The direct path uses it so that it spends the API
 * budget at the same pace as the bridge (whose scheduler defaults to 2 calls/s): without it a
 * direct client would be flood-locked by the simulator's real limits.
 */
import { sleep } from './clock.js';

export class Pacer {
  private next = 0;

  constructor(private readonly perSecond: number) {}

  async take(): Promise<void> {
    const interval = 1000 / this.perSecond;
    const at = Math.max(Date.now(), this.next);
    this.next = at + interval;
    const wait = at - Date.now();
    if (wait > 0) await sleep(wait);
  }
}
