/**
 * Failures that must cost nothing and never be retried into: a request that never reached
 * 1fichier (connection refused, DNS, TLS) spends no window and fails at once with the URL and what
 * to check; a missing `/v1` is named; `Owner locked #620` pauses the whole account; the `#93`
 * password lockout is never retried.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/fichier/clock.js';
import { FichierClient } from '../../src/fichier/client.js';
import {
  AccountLockedError,
  ApiUrlError,
  classifyApiError,
  NotFoundError,
  PasswordLockoutError,
  UnreachableError,
  unreachableError,
} from '../../src/fichier/errors.js';
import { Scheduler } from '../../src/fichier/scheduler.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';

const KEY = 'reach-and-locks-key';
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
});
afterAll(async () => {
  await sim?.close();
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the error catalogue', () => {
  it('knows Owner locked #620 and the #93 password lockout', () => {
    expect(classifyApiError({ httpStatus: 403, message: 'Owner locked #620' })).toBeInstanceOf(AccountLockedError);
    expect(classifyApiError({ httpStatus: 200, message: 'Owner locked #649' })).toBeInstanceOf(AccountLockedError);
    const lockout = classifyApiError({ httpStatus: 403, message: 'No such user #93' });
    expect(lockout).toBeInstanceOf(PasswordLockoutError);
    expect(lockout.retryable).toBe(false);
  });

  it('tells a request that never reached the server from one that did', () => {
    const url = 'https://api.example.invalid/v1/folder/ls.cgi';
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_SSL_WRONG_VERSION_NUMBER', 'CERT_HAS_EXPIRED']) {
      const error = unreachableError('folder/ls.cgi', url, Object.assign(new Error('x'), { code }));
      expect(error, code).toBeInstanceOf(UnreachableError);
      expect(error!.message).toContain('cannot reach the 1fichier API at https://api.example.invalid/v1');
    }
    // undici wraps the socket error: the code is found on the cause.
    expect(unreachableError('x', url, Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }))).toBeInstanceOf(UnreachableError);
    for (const code of ['ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT']) {
      expect(unreachableError('x', url, Object.assign(new Error('x'), { code })), code).toBeUndefined();
    }
  });
});

describe('the scheduler', () => {
  it('gives the window back when the request never reached 1fichier, and keeps it when it did', async () => {
    const clock = new FakeClock();
    const s = new Scheduler({ clock, maxAttempts: 5 });
    const window = { key: 'ls:0', intervalMs: 30_000 };
    const sends: number[] = [];
    let attempts = 0;
    await expect(
      s.run({
        endpoint: 'folder/ls.cgi',
        window,
        run: async () => {
          attempts++;
          throw new UnreachableError('cannot reach');
        },
      }),
    ).rejects.toThrow(UnreachableError);
    expect(attempts).toBe(1); // not retried: a wrong URL must fail in seconds, not minutes
    const next = s.run({ endpoint: 'folder/ls.cgi', window, run: async () => void sends.push(clock.now()) });
    await clock.advance(1_000);
    await next;
    expect(sends).toEqual([500]); // the rate token, not the 30 s window
    const found = s
      .run({
      endpoint: 'folder/ls.cgi',
      window,
      run: async () => {
        sends.push(clock.now());
          throw new NotFoundError('gone', { httpStatus: 404 });
        },
      })
      .catch((e: unknown) => e);
    await clock.advance(31_000);
    expect(await found).toBeInstanceOf(NotFoundError);
    expect(sends[1]).toBeGreaterThanOrEqual(30_500);
  });

  it('pauses the whole account after Owner locked, and never retries the #93 lockout', async () => {
    const clock = new FakeClock();
    const s = new Scheduler({ clock });
    let lockTries = 0;
    await expect(
      s.run({
        endpoint: 'user/info.cgi',
        run: async () => {
          lockTries++;
          throw new PasswordLockoutError('No such user #93', { code: 93 });
        },
      }),
    ).rejects.toThrow(PasswordLockoutError);
    expect(lockTries).toBe(1);
    const locked = s
      .run({
        endpoint: 'file/info.cgi',
        run: async () => {
          throw new AccountLockedError('Owner locked #620', { code: 620, httpStatus: 403 });
        },
      })
      .catch((e: unknown) => e);
    await clock.advance(500); // the rate token
    expect(await locked).toBeInstanceOf(AccountLockedError);
    expect(s.cooldownRemainingMs()).toBeGreaterThan(290_000);
    const sent: number[] = [];
    const later = s.run({ endpoint: 'file/info.cgi', run: async () => void sent.push(clock.now()) });
    await clock.advance(289_000);
    expect(sent).toEqual([]);
    await clock.advance(20_000);
    await later;
    expect(sent[0]).toBeGreaterThanOrEqual(300_500);
  });
});

describe('the client against a simulator', () => {
  it('a closed port fails at once with the URL and what to check', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/v1`;
    const client = new FichierClient({ apiKey: KEY, apiUrl: url, timeScale: 0.01 });
    const error = await client.userInfo().catch((e: unknown) => e);
    await client.close();
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as Error).message).toContain(`cannot reach the 1fichier API at ${url}: connection refused`);
    expect((error as Error).message).toContain('check --api-url');
  });

  it('an API URL without /v1 is named, not "no such resource"', async () => {
    const before = sim.stats().calls['folder/ls.cgi'] ?? 0;
    const client = new FichierClient({ apiKey: KEY, apiUrl: sim.apiUrl.replace(/\/v1$/, ''), timeScale: 0.01 });
    const error = await client.listFolder(0).catch((e: unknown) => e);
    await client.close();
    expect(error).toBeInstanceOf(ApiUrlError);
    expect((error as Error).message).toContain(`it lacks /v1: use ${sim.apiUrl}`);
    expect(sim.stats().calls['folder/ls.cgi'] ?? 0).toBe(before);
  });

  it('Owner locked #620 and the #93 lockout from the simulator: one call each, typed errors', async () => {
    const client = new FichierClient({ apiKey: KEY, apiUrl: sim.apiUrl, timeScale: 0.01 });
    try {
      sim.reset();
      sim.setFaults({ accountLock: 'password' });
      await expect(client.userInfo()).rejects.toBeInstanceOf(PasswordLockoutError);
      expect(sim.stats().calls['user/info.cgi']).toBe(1);
      sim.setFaults({ accountLock: 'owner' });
      const locked = await client.listFolder(0).catch((e: unknown) => e);
      expect(locked).toBeInstanceOf(AccountLockedError);
      expect((locked as AccountLockedError).serverMessage).toBe('Owner locked #620');
      expect(sim.stats().calls['folder/ls.cgi']).toBe(1);
      // The account is paused (nothing sent) for the longest cool-down, 300 s x 0.01 here.
      expect(client.scheduler.cooldownRemainingMs()).toBeGreaterThan(2_000);
    } finally {
      sim.clearFaults();
      await client.close();
    }
  });
});
