/**
 * The pieces of authentication on their own: Basic header parsing, htpasswd formats (vectors
 * made by openssl / libc crypt, not by the libraries under test), the user store and the
 * login throttle.
 */
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import {
  LoginThrottle,
  HtpasswdError,
  UserStore,
  basicAuthorization,
  constantTimeEqual,
  hashKind,
  parseBasicAuthorization,
  parseHtpasswd,
  verifyHash,
} from '../../src/webdav/auth/index.js';

describe('Basic credentials', () => {
  it('round-trips any characters: ":" in the password, non-ASCII, base64 with + and /', () => {
    for (const [user, password] of [
      ['alice', 'pa:ss:word'],
      ['żółw', 'mot de passe é€ 日本'],
      ['u', '?>?>~~~'],
      ['bob', ''],
    ]) {
      expect(parseBasicAuthorization(basicAuthorization(user, password))).toEqual({ user, password });
    }
    // '?>?>' encodes to base64 with '+' and '/' in it.
    expect(basicAuthorization('u', '?>?>~~~')).toMatch(/[+]/);
    expect(basicAuthorization('u', '?>?>~~~')).toMatch(/[/]/);
  });

  it('understands latin1 credentials from old clients', () => {
    const header = `Basic ${Buffer.from('jos\xe9:caf\xe9', 'latin1').toString('base64')}`;
    expect(parseBasicAuthorization(header)).toEqual({ user: 'josé', password: 'café' });
  });

  it.each([undefined, '', 'Bearer abc', 'Basic', 'Basic !!!!', 'Basic YWxpY2U=' /* no colon */, 'Basic a', `Basic ${'A'.repeat(9000)}`])(
    'rejects %s',
    (header) => {
      expect(parseBasicAuthorization(header)).toBeUndefined();
    },
  );

  it('compares in constant time without caring about lengths', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});

describe('htpasswd', () => {
  // Vectors: openssl passwd -apr1 / -1, libc crypt(3), sha1 by Python; bcrypt by bcryptjs itself.
  const bcryptHash = bcrypt.hashSync('pä:ss', 4).replace(/^\$2b\$/, '$2y$');
  const file = [
    '# users',
    `bea:${bcryptHash}`,
    'apr:$apr1$abcdefgh$K9RJ38eueoE3qcz3ofxtv1',
    'md5:$1$abcdefgh$g4Nxmbe7O4mxjpCSGCpQI0',
    'sha:{SHA}bGkQtTTkOUsshX+8+f+zizTHrUw=',
    'des:ab6UI07vWajEg',
    'old:abNANd1rDfiNc',
    '',
  ].join('\n');

  it('parses every format htpasswd writes and verifies the right password only', async () => {
    const entries = parseHtpasswd(file);
    expect(entries.map((e) => [e.user, e.kind])).toEqual([
      ['bea', 'bcrypt'],
      ['apr', 'apr1'],
      ['md5', 'md5crypt'],
      ['sha', 'sha1'],
      ['des', 'crypt'],
      ['old', 'crypt'],
    ]);
    for (const entry of entries.slice(0, 5)) {
      expect(await verifyHash('pä:ss', entry), entry.user).toBe(true);
      expect(await verifyHash('pa:ss', entry), entry.user).toBe(false);
      expect(await verifyHash('', entry), entry.user).toBe(false);
    }
    expect(await verifyHash('secret', entries[5])).toBe(true);
    expect(await verifyHash('apr1-other', { hash: '$apr1$Zz9.yX$FgvceiOALN/wRmca2gNp5/', kind: 'apr1' })).toBe(false);
    expect(await verifyHash('secret', { hash: '$apr1$Zz9.yX$FgvceiOALN/wRmca2gNp5/', kind: 'apr1' })).toBe(true);
  });

  it('refuses plain text, unknown hashes, duplicates and lines without a colon, naming the line', () => {
    expect(() => parseHtpasswd('alice:secret\n', 'users.htpasswd')).toThrow(/users.htpasswd line 1: unsupported password hash for user "alice"/);
    expect(() => parseHtpasswd('x:$6$salt$abc\n')).toThrow(HtpasswdError);
    expect(() => parseHtpasswd('# c\nnocolon\n')).toThrow(/line 2: expected "user:hash"/);
    expect(() => parseHtpasswd('a:abNANd1rDfiNc\na:abNANd1rDfiNc\n')).toThrow(/appears twice/);
    expect(hashKind('{SHA}short')).toBeUndefined();
  });

  it('the user store verifies plain and hashed users, and unknown users fail', async () => {
    const store = new UserStore({ users: [{ user: 'plain', password: 'p:w/+é' }], htpasswd: parseHtpasswd(file) });
    expect(store.size).toBe(7);
    expect(await store.verify('plain', 'p:w/+é')).toBe(true);
    expect(await store.verify('plain', 'p:w/+e')).toBe(false);
    expect(await store.verify('bea', 'pä:ss')).toBe(true);
    expect(await store.verify('bea', 'pä:ss')).toBe(true); // remembered
    expect(await store.verify('bea', 'wrong')).toBe(false);
    expect(await store.verify('nobody', 'pä:ss')).toBe(false);
    expect(() => new UserStore({ users: [{ user: 'a:b', password: 'x' }] })).toThrow(/contains ':'/);
    expect(() => new UserStore({ users: [{ user: 'a', password: '' }] })).toThrow(/empty/);
  });
});

describe('LoginThrottle', () => {
  function attempt(t: LoginThrottle, address: string, name: string, password: string, right: boolean): number | 'refused' {
    const admission = t.admit(address, name, password);
    if (!admission.ok) return 'refused';
    if (right) {
      t.succeed(admission.ticket);
      return 0;
    }
    return t.fail(admission.ticket);
  }

  it('blocks an (address, name) pair after 5 failures within the window, with growing blocks', () => {
    let now = 0;
    const t = new LoginThrottle({ pairThreshold: 5, windowMs: 60_000, blockMs: 30_000, maxBlockMs: 100_000, now: () => now });
    for (let i = 0; i < 4; i++) expect(attempt(t, '1.1.1.1', 'alice', `g${i}`, false)).toBe(0);
    expect(attempt(t, '1.1.1.1', 'alice', 'g4', false)).toBe(30_000);
    expect(t.admit('1.1.1.1', 'alice', 'x')).toMatchObject({ ok: false, scope: 'pair', retryAfterMs: 30_000 });
    // Another name from the same address, and the same name from another address, are not blocked.
    expect(t.admit('1.1.1.1', 'bob', 'x').ok).toBe(true);
    expect(t.admit('2.2.2.2', 'alice', 'x').ok).toBe(true);
    now += 60_000;
    for (let i = 0; i < 4; i++) attempt(t, '1.1.1.1', 'alice', `h${i}`, false);
    expect(attempt(t, '1.1.1.1', 'alice', 'h4', false)).toBe(60_000);
    now += 120_000;
    for (let i = 0; i < 4; i++) attempt(t, '1.1.1.1', 'alice', `k${i}`, false);
    expect(attempt(t, '1.1.1.1', 'alice', 'k4', false)).toBe(100_000); // capped
  });

  it("one success never clears another name's failures (the old per-address reset)", () => {
    let now = 0;
    const t = new LoginThrottle({ pairThreshold: 5, now: () => now });
    for (let i = 0; i < 4; i++) attempt(t, '1.1.1.1', 'victim', `g${i}`, false);
    expect(attempt(t, '1.1.1.1', 'insider', 'right', true)).toBe(0);
    expect(attempt(t, '1.1.1.1', 'victim', 'g4', false)).toBe(30_000);
    now += 1;
    expect(t.admit('1.1.1.1', 'victim', 'g5').ok).toBe(false);
  });

  it('a global ceiling bounds failures whatever the addresses and names; successes are not counted', () => {
    let now = 0;
    const t = new LoginThrottle({ globalLimit: 20, perNameLimit: 1000, perAddressLimit: 1000, now: () => now });
    let admitted = 0;
    expect(attempt(t, '10.9.9.9', 'real', 'secret', true)).toBe(0);
    for (let i = 0; i < 500; i++) {
      if (attempt(t, `10.0.0.${i % 50}`, `user${i % 47}`, `guess${i}`, false) !== 'refused') admitted++;
      if (i % 10 === 0) expect(attempt(t, '10.9.9.9', 'real', 'secret', true)).toBe(0);
    }
    expect(admitted).toBe(20);
    expect(t.globalFailures()).toBe(20);
    now += 60_001;
    expect(t.admit('10.0.0.1', 'user1', 'again').ok).toBe(true);
  });

  it('a proven session passes every budget, even a blocked pair, until wrong passwords from that pair close it', () => {
    let now = 0;
    const t = new LoginThrottle({ pairThreshold: 3, globalLimit: 3, now: () => now });
    expect(attempt(t, '1.1.1.1', 'alice', 'secret', true)).toBe(0);
    // A stranger behind the same address (one household, one NAT) types alice's name wrongly.
    for (let i = 0; i < 3; i++) attempt(t, '1.1.1.1', 'alice', `typo${i}`, false);
    expect(t.admit('1.1.1.1', 'alice', 'typo3').ok).toBe(false);
    expect(t.admit('9.9.9.9', 'bob', 'x')).toMatchObject({ ok: false, scope: 'global' });
    expect(attempt(t, '1.1.1.1', 'alice', 'secret', true)).toBe(0);
    // Guessing on through the session is no oracle: 3 more misses close it until the block ends.
    for (let i = 0; i < 3; i++) expect(t.admit('1.1.1.1', 'alice', `more${i}`).ok).toBe(false);
    expect(t.admit('1.1.1.1', 'alice', 'secret').ok).toBe(false);
    now += 30_001;
    expect(t.admit('1.1.1.1', 'alice', 'secret').ok).toBe(true);
  });

  it('failures spread beyond the window never block', () => {
    let now = 0;
    const t = new LoginThrottle({ pairThreshold: 3, windowMs: 1_000, now: () => now });
    for (let i = 0; i < 10; i++) {
      expect(attempt(t, 'c', 'n', `g${i}`, false)).toBe(0);
      now += 600;
    }
  });

  it('tracks a bounded number of pairs', () => {
    const t = new LoginThrottle({ maxTracked: 100, globalLimit: 10_000, perAddressLimit: 10_000, perNameLimit: 10_000 });
    for (let i = 0; i < 5000; i++) attempt(t, `10.0.${i >> 8}.${i & 255}`, 'n', 'x', false);
    expect(t.trackedPairs).toBe(100);
  });
});
