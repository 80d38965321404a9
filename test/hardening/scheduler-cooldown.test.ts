/**
 * What the upstream adapter reads from the scheduler to tell clients when to come back, and the
 * scheduler's options never keeping the API key (they are on a public field).
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/fichier/clock.js';
import { Scheduler } from '../../src/fichier/scheduler.js';

describe('Scheduler.cooldownRemainingMs', () => {
  it('is 0 without a flood, the scaled cool-down right after one, and counts down to 0', async () => {
    const clock = new FakeClock();
    const s = new Scheduler({ clock, timeScale: 0.5 });
    expect(s.cooldownRemainingMs()).toBe(0);
    s.noteFlood(clock.now());
    expect(s.cooldownRemainingMs()).toBe(15_000);
    await clock.advance(10_000);
    expect(s.cooldownRemainingMs()).toBe(5_000);
    await clock.advance(6_000);
    expect(s.cooldownRemainingMs()).toBe(0);
    s.noteFlood(clock.now());
    expect(s.cooldownRemainingMs()).toBe(30_000); // doubled
  });

  it('keeps only scheduler settings from the options it is given', () => {
    const s = new Scheduler({ ratePerSecond: 1, apiKey: 'SECRET-KEY' } as ConstructorParameters<typeof Scheduler>[0]);
    expect(s.options.ratePerSecond).toBe(1);
    expect(JSON.stringify(s.options)).not.toContain('SECRET-KEY');
  });
});
