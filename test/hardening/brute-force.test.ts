/**
 * Password guessing through the bridge over real HTTP, from many loopback source addresses
 * (127.0.0.x all reach a server bound to 127.0.0.1 on Linux): the login throttle's budgets hold
 * whatever the attacker rotates, and the real user keeps working throughout.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, startHardStack, type HardStack } from './helpers.js';

const REAL = { user: 'realuser', password: 'correct horse battery' };
const INSIDER = { user: 'insider', password: 'my own password' };
/** Guesses allowed per window in total (the configured ceiling). */
const CEILING = 30;

let s: HardStack;

beforeAll(async () => {
  s = await startHardStack(
    {},
    {
      // A long window, so a slow machine cannot slide it during the test and admit more.
      auth: { users: [REAL, INSIDER], backoff: { globalLimit: CEILING, windowMs: 30 * 60_000, blockMs: 10 * 60_000 } },
    },
  );
});

afterAll(async () => {
  await s?.close();
});

/** PROPFIND / Depth 0 from `from` (a loopback address) with Basic credentials; resolves with the status. */
function login(from: string, user: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: s.port,
        localAddress: from,
        method: 'PROPFIND',
        path: '/',
        headers: { Depth: '0', Authorization: basic(user, password) },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('brute force', () => {
  it('one good login does not reset the back-off of another name from the same address', async () => {
    const from = '127.0.0.201';
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      // The insider logs in with their own account between guesses at the victim's password.
      expect(await login(from, INSIDER.user, INSIDER.password)).toBe(207);
      statuses.push(await login(from, REAL.user, `guess-${i}`));
    }
    // The 5th wrong guess blocks the (address, name) pair; later ones are refused unchecked.
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses.slice(4).every((status) => status === 429)).toBe(true);
  });

  it(`an attacker rotating 50 addresses and 50 names gets at most ${CEILING} guesses in total, while the real user keeps logging in`, async () => {
    // The real user's client logged in from its own address before the attack.
    expect(await login('127.0.0.1', REAL.user, REAL.password)).toBe(207);
    const checked = () => s.log.lines.filter((line) => line.includes('auth: wrong credentials')).length;
    const checkedBefore = checked();
    const names = Array.from({ length: 50 }, (_, i) => (i === 0 ? REAL.user : `user${i}`));
    let evaluated = 0;
    let throttled = 0;
    let realOk = 0;
    for (let round = 0; round < 8; round++) {
      const batch = Array.from({ length: 50 }, (_, i) => {
        // The addresses include the real user's own (a stranger behind the same NAT).
        const from = `127.0.0.${1 + ((i + round) % 50)}`;
        return login(from, names[(i * 7 + round) % 50], `guess-${round}-${i}`);
      });
      for (const status of await Promise.all(batch)) {
        if (status === 401) evaluated++;
        else if (status === 429) throttled++;
        else throw new Error(`unexpected status ${status} for a wrong password`);
      }
      if ((await login('127.0.0.1', REAL.user, REAL.password)) === 207) realOk++;
    }
    // Every password checked and found wrong is logged once: at most the ceiling, the rest refused unchecked.
    expect(checked() - checkedBefore).toBeLessThanOrEqual(CEILING);
    expect(checked() - checkedBefore).toBeGreaterThan(0);
    expect(evaluated).toBeLessThanOrEqual(CEILING);
    expect(evaluated + throttled).toBe(400);
    expect(realOk).toBe(8);
    expect(s.log.lines.some((line) => line.includes('auth: login attempts slowed down'))).toBe(true);
  });
});
