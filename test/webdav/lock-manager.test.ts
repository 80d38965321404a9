import { describe, expect, it } from 'vitest';
import { LockLimitError, LockManager, type LockRecord, type LockRequest } from '../../src/webdav/lock-manager.js';
import type { IfEvaluationEnv } from '../../src/webdav/locking.js';

function setup(options: ConstructorParameters<typeof LockManager>[0] = {}) {
  let now = 1_700_000_000_000;
  let n = 0;
  const locks = new LockManager({ now: () => now, newToken: () => `urn:uuid:t${++n}`, ...options });
  return { locks, advance: (seconds: number) => (now += seconds * 1000) };
}

function req(path: string, over: Partial<LockRequest> = {}): LockRequest {
  return { path, scope: 'exclusive', depth: 0, ownerXml: '', timeoutSeconds: 3600, ...over };
}

async function take(locks: LockManager, path: string, over: Partial<LockRequest> = {}) {
  const r = await locks.lock(req(path, over));
  if (!r.ok) throw new Error(`unexpected conflict with ${r.conflict.root}`);
  return r.lock;
}

const etags: Record<string, string> = { '/a': '"ea"', '/a/b': '"eb"', '/a/b/c': '"ec"', '/x': '"ex"' };
function env(requestPath: string): IfEvaluationEnv {
  return {
    requestPath,
    etagOf: async (p) => etags[p],
    resolveHref: (uri) => (uri.startsWith('/') ? uri.replace(/\/$/, '') || '/' : new URL(uri).pathname.replace(/\/$/, '') || '/'),
  };
}

describe('LockManager: tokens and records', () => {
  it('hasLocksTouching: locks on, inside or covering a folder count; siblings, shallow parents and expired ones do not', async () => {
    const { locks, advance } = setup();
    expect(await locks.hasLocksTouching('/a/b')).toBe(false);
    await take(locks, '/x');
    await take(locks, '/a', { depth: 0 });
    expect(await locks.hasLocksTouching('/a/b')).toBe(false);
    const inside = await take(locks, '/a/b/c', { timeoutSeconds: 10 });
    expect(await locks.hasLocksTouching('/a/b')).toBe(true);
    advance(11);
    expect(await locks.hasLocksTouching('/a/b')).toBe(false);
    expect(inside.root).toBe('/a/b/c');
    await take(locks, '/a/b', { depth: 0 });
    expect(await locks.hasLocksTouching('/a/b')).toBe(true);
    const { locks: other } = setup();
    await take(other, '/', { depth: 'infinity' });
    expect(await other.hasLocksTouching('/a/b')).toBe(true);
  });

  it('issues urn:uuid tokens by default, all distinct', async () => {
    const locks = new LockManager();
    const a = await locks.lock(req('/a'));
    const b = await locks.lock(req('/b'));
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(a.lock.token).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.lock.token).not.toBe(b.lock.token);
  });

  it('keeps the owner XML verbatim and describes the lock for lockdiscovery', async () => {
    const { locks, advance } = setup();
    const owner = '<href xmlns="DAV:">mailto:me@example.com</href> &amp; text';
    const lock = await take(locks, '/a', { ownerXml: owner, scope: 'shared', depth: 'infinity', timeoutSeconds: 120 });
    advance(20.5);
    expect(await locks.activeLocks('/a/b/c')).toEqual([
      { token: lock.token, root: '/a', scope: 'shared', depth: 'infinity', ownerXml: owner, timeout: 100 },
    ]);
    expect(await locks.activeLocks('/x')).toEqual([]);
  });
});

describe('LockManager: conflicts', () => {
  it('an exclusive lock conflicts with any other lock on the same resource', async () => {
    const { locks } = setup();
    const first = await take(locks, '/a');
    for (const scope of ['exclusive', 'shared'] as const) {
      const r = await locks.lock(req('/a', { scope }));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.conflict.token).toBe(first.token);
    }
  });

  it('shared locks coexist, and block a later exclusive one', async () => {
    const { locks } = setup();
    await take(locks, '/a', { scope: 'shared' });
    await take(locks, '/a', { scope: 'shared' });
    expect((await locks.lock(req('/a'))).ok).toBe(false);
    expect(await locks.size()).toBe(2);
  });

  it('depth-infinity on an ancestor covers descendants; depth 0 does not', async () => {
    const { locks } = setup();
    await take(locks, '/a', { depth: 'infinity' });
    expect((await locks.lock(req('/a/b/c'))).ok).toBe(false);
    const other = setup().locks;
    await take(other, '/a', { depth: 0 });
    expect((await other.lock(req('/a/b/c'))).ok).toBe(true);
  });

  it('a depth-infinity request conflicts with locks below it; a depth-0 one does not', async () => {
    const { locks } = setup();
    const inner = await take(locks, '/a/b/c');
    const r = await locks.lock(req('/a', { depth: 'infinity' }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.conflict.token).toBe(inner.token);
    expect((await locks.lock(req('/a', { depth: 0 }))).ok).toBe(true);
  });

  it('the root path covers everything when locked depth-infinity', async () => {
    const { locks } = setup();
    await take(locks, '/', { depth: 'infinity' });
    expect((await locks.lock(req('/x'))).ok).toBe(false);
    expect(await locks.locksCovering('/a/b')).toHaveLength(1);
  });

  it('sibling paths sharing a prefix are independent', async () => {
    const { locks } = setup();
    await take(locks, '/a', { depth: 'infinity' });
    expect((await locks.lock(req('/ab'))).ok).toBe(true);
    expect(await locks.locksCovering('/ab')).toHaveLength(1);
  });

  it('refuses new locks past the limit', async () => {
    const { locks } = setup({ maxLocks: 2 });
    await take(locks, '/1');
    await take(locks, '/2');
    await expect(locks.lock(req('/3'))).rejects.toThrow(LockLimitError);
  });
});

describe('LockManager: timeouts', () => {
  it('parses Timeout headers: first usable entry, capped, default otherwise', async () => {
    const { locks } = setup({ maxTimeoutSeconds: 3600 });
    expect(locks.grantTimeout(undefined)).toBe(3600);
    expect(locks.grantTimeout('Second-60')).toBe(60);
    expect(locks.grantTimeout('second-60')).toBe(60);
    expect(locks.grantTimeout('Second-999999')).toBe(3600);
    expect(locks.grantTimeout('Infinite, Second-60')).toBe(3600);
    expect(locks.grantTimeout('Bogus, Second-30, Second-40')).toBe(30);
    expect(locks.grantTimeout('Second-0')).toBe(1);
    expect(locks.grantTimeout('Second--5, garbage')).toBe(3600);
    expect(locks.grantTimeout('Second-99999999999999999999')).toBe(3600);
    const short = setup({ maxTimeoutSeconds: 600, defaultTimeoutSeconds: 120 }).locks;
    expect(short.grantTimeout(undefined)).toBe(120);
    expect(short.grantTimeout('Infinite')).toBe(600);
  });

  it('grants Infinite only when the maximum is unbounded', async () => {
    const { locks, advance } = setup({ maxTimeoutSeconds: Infinity });
    expect(locks.grantTimeout('Infinite')).toBe(Infinity);
    const lock = await take(locks, '/a', { timeoutSeconds: Infinity });
    advance(10 ** 9);
    expect(await locks.get(lock.token)).toBeDefined();
    expect((await locks.activeLocks('/a'))[0].timeout).toBe('infinite');
  });

  it('expires locks with the clock, freeing the resource', async () => {
    const { locks, advance } = setup();
    const lock = await take(locks, '/a', { timeoutSeconds: 60 });
    advance(59);
    expect((await locks.lock(req('/a'))).ok).toBe(false);
    expect((await locks.activeLocks('/a'))[0].timeout).toBe(1);
    advance(1);
    expect(await locks.get(lock.token)).toBeUndefined();
    expect(await locks.activeLocks('/a')).toEqual([]);
    expect((await locks.lock(req('/a'))).ok).toBe(true);
  });

  it('refresh restarts the timeout, also through a resource inside the lock (indirect refresh)', async () => {
    const { locks, advance } = setup();
    const lock = await take(locks, '/a', { depth: 'infinity', timeoutSeconds: 60 });
    advance(50);
    expect(((await locks.refresh('/a/b/c', ['urn:uuid:other', lock.token], 120)) as LockRecord).token).toBe(lock.token);
    advance(100);
    expect(await locks.get(lock.token)).toBeDefined();
    expect((await locks.activeLocks('/a'))[0].timeout).toBe(20);
    advance(20);
    expect(await locks.get(lock.token)).toBeUndefined();
  });

  it('refresh fails for a token that does not cover the path, or an expired one', async () => {
    const { locks, advance } = setup();
    const lock = await take(locks, '/a', { timeoutSeconds: 60 });
    expect(await locks.refresh('/x', [lock.token], 60)).toBeUndefined();
    expect(await locks.refresh('/a/b', [lock.token], 60)).toBeUndefined(); // depth 0
    expect(await locks.refresh('/a', ['urn:uuid:nope'], 60)).toBeUndefined();
    advance(60);
    expect(await locks.refresh('/a', [lock.token], 60)).toBeUndefined();
  });

  it('caps a refresh at the maximum timeout', async () => {
    const { locks } = setup({ maxTimeoutSeconds: 100 });
    const lock = await take(locks, '/a', { timeoutSeconds: 10 });
    expect(((await locks.refresh('/a', [lock.token], 10_000)) as LockRecord).timeoutSeconds).toBe(100);
  });
});

describe('LockManager: unlock and forgetTree', () => {
  it('unlocks by token from any resource inside the lock', async () => {
    const { locks } = setup();
    const lock = await take(locks, '/a', { depth: 'infinity' });
    expect(await locks.unlock('/x', lock.token)).toBe('not-in-scope');
    expect(await locks.unlock('/a', 'urn:uuid:nope')).toBe('no-such-lock');
    expect(await locks.unlock('/a/b', lock.token)).toBe('unlocked');
    expect(await locks.unlock('/a', lock.token)).toBe('no-such-lock');
    expect(await locks.size()).toBe(0);
  });

  it('a depth-0 lock cannot be unlocked through a member', async () => {
    const { locks } = setup();
    const lock = await take(locks, '/a');
    expect(await locks.unlock('/a/b', lock.token)).toBe('not-in-scope');
  });

  it('forgetTree drops locks rooted at or below a path, and keeps others', async () => {
    const { locks } = setup();
    await take(locks, '/a');
    await take(locks, '/a/b/c');
    const sibling = await take(locks, '/ab');
    const ancestor = await take(locks, '/', { scope: 'shared', depth: 0 });
    await locks.forgetTree('/a');
    expect(await locks.size()).toBe(2);
    expect(await locks.get(sibling.token)).toBeDefined();
    expect(await locks.get(ancestor.token)).toBeDefined();
  });
});

describe('LockManager: checkPreconditions', () => {
  it('passes with no If header and no locks', async () => {
    const { locks } = setup();
    expect(await locks.checkPreconditions({ ifHeader: undefined, targets: [{ path: '/a', depth: 0 }], env: env('/a') })).toEqual({ ok: true });
  });

  it('malformed If → 400; false If → 412, even for a read (no targets)', async () => {
    const { locks } = setup();
    expect(await locks.checkPreconditions({ ifHeader: '(<urn:uuid:x>', targets: [], env: env('/a') })).toMatchObject({ ok: false, status: 400 });
    expect(await locks.checkPreconditions({ ifHeader: '(<DAV:no-lock>)', targets: [], env: env('/a') })).toMatchObject({ ok: false, status: 412 });
    expect(await locks.checkPreconditions({ ifHeader: '(["ea"])', targets: [], env: env('/a') })).toEqual({ ok: true });
  });

  it('a locked target without its token → 423 naming the lock root', async () => {
    const { locks } = setup();
    await take(locks, '/a', { depth: 'infinity' });
    const r = await locks.checkPreconditions({ ifHeader: undefined, targets: [{ path: '/a/b', depth: 0 }], env: env('/a/b') });
    expect(r).toMatchObject({ ok: false, status: 423, lockRoot: '/a' });
  });

  it('the token in an untagged list unlocks the write', async () => {
    const { locks } = setup();
    const lock = await take(locks, '/a/b');
    const r = await locks.checkPreconditions({ ifHeader: `(<${lock.token}>)`, targets: [{ path: '/a/b', depth: 0 }], env: env('/a/b') });
    expect(r).toEqual({ ok: true });
  });

  it('the token tagged with the lock root unlocks a write to a member (neon style)', async () => {
    const { locks } = setup();
    const lock = await take(locks, '/a', { depth: 'infinity' });
    const r = await locks.checkPreconditions({
      ifHeader: `<http://127.0.0.1:8080/a/> (<${lock.token}>)`,
      targets: [{ path: '/a/new', depth: 0 }],
      env: env('/a/new'),
    });
    expect(r).toEqual({ ok: true });
  });

  it('an untagged token matches an unmapped member of a depth-infinity lock', async () => {
    const { locks } = setup();
    const lock = await take(locks, '/a', { depth: 'infinity' });
    const r = await locks.checkPreconditions({ ifHeader: `(<${lock.token}>)`, targets: [{ path: '/a/new', depth: 0 }, { path: '/a', depth: 0 }], env: env('/a/new') });
    expect(r).toEqual({ ok: true });
  });

  it('If true through another list but the lock token is wrong → 423 (litmus cond_put_corrupt_token)', async () => {
    const { locks } = setup();
    const lock = await take(locks, '/a');
    const r = await locks.checkPreconditions({ ifHeader: `(<${lock.token}x>) (Not <DAV:no-lock>)`, targets: [{ path: '/a', depth: 0 }], env: env('/a') });
    expect(r).toMatchObject({ ok: false, status: 423, lockRoot: '/a' });
  });

  it('If false on a locked resource → 412 before 423 (litmus fail_cond_put)', async () => {
    const { locks } = setup();
    await take(locks, '/a');
    const r = await locks.checkPreconditions({ ifHeader: '(<DAV:no-lock> ["ea"])', targets: [{ path: '/a', depth: 0 }], env: env('/a') });
    expect(r).toMatchObject({ ok: false, status: 412 });
  });

  it('a negated token is not a submission', async () => {
    const { locks } = setup();
    const lock = await take(locks, '/a');
    const r = await locks.checkPreconditions({ ifHeader: `(Not <${lock.token}> ["nope"]) (["ea"])`, targets: [{ path: '/a', depth: 0 }], env: env('/a') });
    expect(r).toMatchObject({ ok: false, status: 423 });
  });

  it('a depth-infinity target is blocked by a lock below it (DELETE of a folder)', async () => {
    const { locks } = setup();
    const inner = await take(locks, '/a/b/c');
    const blocked = await locks.checkPreconditions({ ifHeader: undefined, targets: [{ path: '/a', depth: 'infinity' }], env: env('/a') });
    expect(blocked).toMatchObject({ ok: false, status: 423, lockRoot: '/a/b/c' });
    const allowed = await locks.checkPreconditions({ ifHeader: `</a/b/c> (<${inner.token}>)`, targets: [{ path: '/a', depth: 'infinity' }], env: env('/a') });
    expect(allowed).toEqual({ ok: true });
    const depth0 = await locks.checkPreconditions({ ifHeader: undefined, targets: [{ path: '/a', depth: 0 }], env: env('/a') });
    expect(depth0).toEqual({ ok: true });
  });

  it('a parent depth-0 lock guards membership: its token is needed besides the member’s', async () => {
    const { locks } = setup();
    const parent = await take(locks, '/a');
    const child = await take(locks, '/a/b');
    const targets = [{ path: '/a/b', depth: 'infinity' as const }, { path: '/a', depth: 0 as const }];
    expect(await locks.checkPreconditions({ ifHeader: `(<${child.token}>)`, targets, env: env('/a/b') })).toMatchObject({ status: 423, lockRoot: '/a' });
    expect(await locks.checkPreconditions({ ifHeader: `(<${child.token}>) </a> (<${parent.token}>)`, targets, env: env('/a/b') })).toEqual({ ok: true });
  });

  it('with shared locks on one root, any holder may write; a stranger may not', async () => {
    const { locks } = setup();
    await take(locks, '/a', { scope: 'shared' });
    const second = await take(locks, '/a', { scope: 'shared' });
    const targets = [{ path: '/a', depth: 0 as const }];
    expect(await locks.checkPreconditions({ ifHeader: `(<${second.token}>)`, targets, env: env('/a') })).toEqual({ ok: true });
    expect(await locks.checkPreconditions({ ifHeader: undefined, targets, env: env('/a') })).toMatchObject({ status: 423 });
  });

  it('an expired lock blocks nothing', async () => {
    const { locks, advance } = setup();
    await take(locks, '/a', { timeoutSeconds: 10 });
    advance(10);
    expect(await locks.checkPreconditions({ ifHeader: undefined, targets: [{ path: '/a', depth: 0 }], env: env('/a') })).toEqual({ ok: true });
  });

  it('an expired token no longer satisfies an If header', async () => {
    const { locks, advance } = setup();
    const lock = await take(locks, '/a', { timeoutSeconds: 10 });
    advance(11);
    expect(await locks.checkPreconditions({ ifHeader: `(<${lock.token}>)`, targets: [], env: env('/a') })).toMatchObject({ status: 412 });
  });
});
