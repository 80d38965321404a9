/**
 * LOCK (RFC 4918 §9.10): a new lock (lockinfo body) or a refresh (no body, If header naming the
 * lock). A LOCK on an unmapped URL creates a locked empty file through Drive.write (§7.3, the
 * "locked empty resource" that replaced RFC 2518's lock-null resources): it then lists, reads and
 * is overwritten like any file, survives UNLOCK, and Windows/Finder's "LOCK a new name, then PUT"
 * works. Answers: 200 (existing resource or refresh), 201 (resource created), 423 on a conflicting
 * lock, 412 when a refresh names no lock covering the URL, 403 when it names another user's lock
 * (RFC 4918 §6.4), 400 for malformed bodies and headers.
 */
import { Readable } from 'node:stream';
import { DriveError } from '../../drive/types.js';
import { HttpError } from '../errors.js';
import type { MethodHandler, RequestContext } from '../handler.js';
import { parseDepth } from '../headers.js';
import { parseIfHeader } from '../if-header.js';
import { LockLimitError, LockManager, type LockRecord } from '../lock-manager.js';
import type { LockDepth, LockScope } from '../locking.js';
import { parentPath } from '../paths.js';
import { activeLockXml } from '../props/live.js';
import { escapeXml } from '../xml/escape.js';
import { serializeElement } from '../xml/serialize.js';
import { elementChildren, findChild, isDav, type XmlElement } from '../xml/tree.js';

export interface LockInfo {
  scope: LockScope;
  /** Self-contained XML of the owner element's content ('' when absent). */
  ownerXml: string;
}

/** Parses a DAV:lockinfo body; 400 for anything that is not one, 422 for a non-write lock type. */
export function parseLockInfo(root: XmlElement): LockInfo {
  if (!isDav(root, 'lockinfo')) throw new HttpError(400, 'LOCK body must be a DAV:lockinfo element');
  const scopeEl = findChild(root, 'DAV:', 'lockscope');
  const typeEl = findChild(root, 'DAV:', 'locktype');
  if (!scopeEl || !typeEl) throw new HttpError(400, 'DAV:lockinfo needs lockscope and locktype');
  const scopes = elementChildren(scopeEl);
  if (scopes.length !== 1 || !(isDav(scopes[0], 'exclusive') || isDav(scopes[0], 'shared'))) {
    throw new HttpError(400, 'DAV:lockscope must hold exactly one of exclusive, shared');
  }
  const types = elementChildren(typeEl);
  if (types.length !== 1) throw new HttpError(400, 'DAV:locktype must hold exactly one lock type');
  if (!isDav(types[0], 'write')) throw new HttpError(422, 'Only write locks are supported');
  const owner = findChild(root, 'DAV:', 'owner');
  return { scope: scopes[0].local as LockScope, ownerXml: owner ? ownerContent(owner) : '' };
}

/**
 * The owner's children serialized so they carry their own namespace declarations: the value is
 * replayed inside `<D:owner>` in documents whose default namespace we do not control, so
 * `<D:href>` from the request must come back as `<href xmlns="DAV:">`, not as an unqualified href.
 */
function ownerContent(owner: XmlElement): string {
  return owner.children.map((c) => (c.kind === 'text' ? escapeXml(c.text) : serializeElement(c, undefined))).join('');
}

/** Depth of a LOCK: 0 or infinity, infinity when absent (§9.10.3); 1 is not allowed. */
export function parseLockDepth(value: string | undefined): LockDepth {
  const depth = parseDepth(value);
  if (depth === undefined || depth === 'infinity') return 'infinity';
  if (depth === 0) return 0;
  throw new HttpError(400, 'Depth for LOCK must be 0 or infinity');
}

/** The lock store behind ctx.locks, with the operations LOCK/UNLOCK need beyond LockManagerPort. */
export function lockManagerOf(ctx: RequestContext): LockManager {
  if (ctx.locks instanceof LockManager) return ctx.locks;
  throw new HttpError(501, 'Locking is not enabled on this server');
}

export const lock: MethodHandler = async (ctx) => {
  const manager = lockManagerOf(ctx);
  const body = await ctx.readXml();
  const timeoutSeconds = manager.grantTimeout(ctx.header('timeout'));
  if (!body) {
    await refresh(ctx, manager, timeoutSeconds);
    return;
  }
  const info = parseLockInfo(body);
  const depth = parseLockDepth(ctx.header('depth'));

  const exists = await resourceExists(ctx);
  // Creating the locked empty resource adds a member to the parent: its locks must allow that.
  await ctx.checkPreconditions(exists ? [] : [{ path: ctx.path, depth: 0 }, { path: parentPath(ctx.path), depth: 0 }]);

  let result;
  try {
    result = await manager.lock({
      path: ctx.path,
      scope: info.scope,
      depth,
      ownerXml: info.ownerXml,
      timeoutSeconds,
      principal: ctx.principal,
    });
  } catch (error) {
    if (error instanceof LockLimitError) throw new HttpError(503, 'Too many active locks', { headers: { 'Retry-After': '60' } });
    throw error;
  }
  if (!result.ok) {
    throw new HttpError(423, 'A conflicting lock exists', {
      condition: 'no-conflicting-lock',
      conditionXml: `<D:href>${escapeXml(ctx.href(result.conflict.root, false))}</D:href>`,
    });
  }

  if (!exists) {
    try {
      await ctx.drive.write(ctx.path, Readable.from([]), { size: 0, signal: ctx.signal });
    } catch (error) {
      // No resource, no lock: a failed creation must not leave a lock on nothing.
      await manager.unlock(ctx.path, result.lock.token, ctx.principal);
      throw error;
    }
  }
  sendLock(ctx, result.lock, exists ? 200 : 201, { 'Lock-Token': `<${result.lock.token}>` });
};

async function refresh(ctx: RequestContext, manager: LockManager, timeoutSeconds: number): Promise<void> {
  const ifHeader = ctx.header('if');
  if (ifHeader === undefined) {
    throw new HttpError(400, 'A LOCK without a body is a refresh and needs an If header with the lock token');
  }
  await ctx.checkPreconditions([]); // 400 if malformed, 412 if false
  const tokens: string[] = [];
  for (const list of parseIfHeader(ifHeader).lists) {
    for (const c of list.conditions) if (c.kind === 'state-token' && !c.negated) tokens.push(c.token);
  }
  const refreshed = await manager.refresh(ctx.path, tokens, timeoutSeconds, ctx.principal);
  if (refreshed === 'not-owner') {
    // RFC 4918 §6.4: the token is usable only by the principal that created the lock.
    throw new HttpError(403, 'This lock belongs to another user');
  }
  if (!refreshed) {
    throw new HttpError(412, 'No lock with the submitted token covers this resource', {
      condition: 'lock-token-matches-request-uri',
    });
  }
  sendLock(ctx, refreshed, 200);
}

function sendLock(ctx: RequestContext, lock: LockRecord, status: number, headers: Record<string, string> = {}): void {
  const manager = lockManagerOf(ctx);
  const activelock = activeLockXml(manager.describe(lock), { href: (p, c) => ctx.href(p, c) });
  ctx.sendXml(status, `<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activelock}</D:lockdiscovery></D:prop>`, headers);
}

async function resourceExists(ctx: RequestContext): Promise<boolean> {
  try {
    await ctx.drive.stat(ctx.path, ctx.signal);
    return true;
  } catch (error) {
    if (error instanceof DriveError && error.code === 'not-found') return false;
    throw error;
  }
}
