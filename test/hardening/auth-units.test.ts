/**
 * The pieces of authentication on their own: Basic header parsing, htpasswd formats (vectors
 * made by openssl / libc crypt, not by the libraries under test), the user store and the
 * failure back-off.
 */
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import {
  FailureBackoff,
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

describe('FailureBackoff', () => {
  it('blocks after 5 failures within the window, with growing blocks, per client', () => {
    let now = 0;
    const b = new FailureBackoff({ threshold: 5, windowMs: 60_000, blockMs: 30_000, maxBlockMs: 100_000, now: () => now });
    for (let i = 0; i < 4; i++) expect(b.fail('1.1.1.1')).toBe(0);
    expect(b.blockedFor('1.1.1.1')).toBe(0);
    expect(b.fail('1.1.1.1')).toBe(30_000);
    expect(b.blockedFor('1.1.1.1')).toBe(30_000);
    expect(b.blockedFor('2.2.2.2')).toBe(0);
    now += 30_000;
    expect(b.blockedFor('1.1.1.1')).toBe(0);
    for (let i = 0; i < 4; i++) b.fail('1.1.1.1');
    expect(b.fail('1.1.1.1')).toBe(60_000);
    now += 60_000;
    for (let i = 0; i < 4; i++) b.fail('1.1.1.1');
    expect(b.fail('1.1.1.1')).toBe(100_000); // capped
  });

  it('failures spread beyond the window never block; a success clears the count', () => {
    let now = 0;
    const b = new FailureBackoff({ threshold: 3, windowMs: 1_000, now: () => now });
    for (let i = 0; i < 10; i++) {
      expect(b.fail('c')).toBe(0);
      now += 600;
    }
    b.fail('d');
    b.fail('d');
    b.succeed('d');
    expect(b.fail('d')).toBe(0);
  });

  it('tracks a bounded number of clients', () => {
    const b = new FailureBackoff({ maxClients: 100 });
    for (let i = 0; i < 5000; i++) b.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(b.trackedClients).toBe(100);
  });
});
