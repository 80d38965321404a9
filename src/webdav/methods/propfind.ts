/**
 * PROPFIND (RFC 4918 §9.1). Depth 0 and 1 only: a missing Depth means infinity, and infinity is
 * refused with 403 propfind-finite-depth so a client can never make us walk the whole account.
 *
 * Cost rule (design.md): one Drive.stat for the target and, for Depth 1 on a folder, one
 * Drive.list — children come with their metadata, never a stat per child. Dead properties are read
 * only when the request can return them (allprop, propname, or a non-live name).
 *
 * Each entry's `<D:response>` is reused from the response-fragment cache while its fingerprint and
 * the answer's context are unchanged (props/response-cache.ts says what both hold and why that is
 * exact); quota properties depend on the account, not the entry, so answers naming them on a
 * folder are always built afresh.
 *
 * Above that, a Depth 1 answer as a whole is kept encoded and sent again while the listing, the
 * folder's entry, the dead properties and the (absent) locks are unchanged
 * (props/answer-cache.ts): a warm listing then touches no entry at all.
 */
import type { DeadProperty, DriveEntry, Quota } from '../../drive/types.js';
import { HttpError } from '../errors.js';
import type { MethodHandler, RequestContext } from '../handler.js';
import { parseDepth } from '../headers.js';
import { joinPath } from '../paths.js';
import { isLiveProperty, livePropertyNames, livePropertyValue, lockDiscovery, type LivePropertyEnv } from '../props/live.js';
import { answerCacheFor, type AnswerInputs } from '../props/answer-cache.js';
import { entryFingerprint, responseCacheFor } from '../props/response-cache.js';
import { MultistatusWriter, propstatResponseXml, sendMultistatus, type PropStat } from '../xml/multistatus.js';
import { DAV_NS, elementChildren, isDav, type XmlElement } from '../xml/tree.js';
import { deadPropertyElement, propertyElement } from '../xml/write.js';

interface PropName {
  ns: string;
  local: string;
}

type PropfindRequest =
  | { kind: 'allprop'; include: PropName[] }
  | { kind: 'propname' }
  | { kind: 'prop'; names: PropName[] };

export function parsePropfindBody(root: XmlElement | undefined): PropfindRequest {
  if (!root) return { kind: 'allprop', include: [] };
  if (!isDav(root, 'propfind')) throw new HttpError(400, 'PROPFIND body must be a DAV:propfind element');
  const children = elementChildren(root);
  const propname = children.find((c) => isDav(c, 'propname'));
  const allprop = children.find((c) => isDav(c, 'allprop'));
  const prop = children.find((c) => isDav(c, 'prop'));
  const chosen = [propname, allprop, prop].filter((c) => c !== undefined).length;
  if (chosen !== 1) throw new HttpError(400, 'DAV:propfind needs exactly one of propname, allprop, prop');
  if (propname) return { kind: 'propname' };
  if (allprop) {
    const include = children.find((c) => isDav(c, 'include'));
    return { kind: 'allprop', include: include ? namesOf(include) : [] };
  }
  return { kind: 'prop', names: namesOf(prop as XmlElement) };
}

function namesOf(container: XmlElement): PropName[] {
  return elementChildren(container).map((c) => ({ ns: c.ns, local: c.local }));
}

export const propfind: MethodHandler = async (ctx) => {
  const depth = parseDepth(ctx.header('depth'));
  if (depth === undefined || depth === 'infinity') {
    throw new HttpError(403, 'PROPFIND with Depth: infinity is not supported', { condition: 'propfind-finite-depth' });
  }
  const request = parsePropfindBody(await ctx.readXml());
  const entry = await ctx.drive.stat(ctx.path, ctx.signal);
  const members: Array<{ path: string; entry: DriveEntry }> = [{ path: ctx.path, entry }];
  const children = depth === 1 && entry.kind === 'folder' ? await ctx.drive.list(ctx.path, ctx.signal) : undefined;
  for (const child of children ?? []) members.push({ path: joinPath(ctx.path, child.name), entry: child });

  const env = liveEnv(ctx);
  const cache = responseCacheFor(ctx.drive);
  // Everything outside the entry that changes the bytes of its <D:response> (see response-cache.ts).
  const context = JSON.stringify([request, env.locking, ctx.settings.mountPrefix, ctx.home]);
  const needDead = request.kind !== 'prop' || request.names.some((n) => !isLiveProperty(n.ns, n.local));
  const needLocks = env.locking && asksFor(request, 'lockdiscovery');
  const namesQuota = asksFor(request, 'quota-available-bytes') || asksFor(request, 'quota-used-bytes');

  // The whole answer of a Depth 1 listing, when nothing it was built from changed (answer-cache.ts).
  const answers = children && !namesQuota ? answerCacheFor(ctx.drive) : undefined;
  const answerKey = `${context}\n${ctx.path}`;
  let answerInputs: AnswerInputs | undefined;
  if (answers && (!needDead || ctx.drive.propertiesVersion) && (!needLocks || !ctx.locks || ctx.locks.hasLocksTouching)) {
    // Read before the properties and locks are: a change landing after this makes the stored
    // answer's inputs differ from the next request's.
    answerInputs = {
      members: children!,
      folder: entryFingerprint(entry, [], ''),
      propertiesVersion: needDead ? ctx.drive.propertiesVersion!() : undefined,
    };
    const locked = needLocks && ctx.locks ? await ctx.locks.hasLocksTouching!(ctx.path) : false;
    if (locked) answerInputs = undefined;
    else {
      const body = answers.get(answerKey, answerInputs);
      if (body) {
        sendMultistatus(ctx.res, body);
        return;
      }
    }
  }

  const slots = cache.context(context);
  // Dead properties of a whole listing in one storage query when the drive offers it.
  const batch = needDead && members.length > 1 && ctx.drive.getPropertiesIn
    ? await ctx.drive.getPropertiesIn(ctx.path, members.map((m) => m.path))
    : undefined;
  // Likewise the locks: one read of the lock store for the whole listing.
  const lockBatch = needLocks && members.length > 1 && ctx.locks?.activeLocksOf
    ? await ctx.locks.activeLocksOf(members.map((m) => m.path))
    : undefined;
  const writer = new MultistatusWriter(ctx.res, { record: answerInputs !== undefined });
  for (const [i, { path, entry }] of members.entries()) {
    const dead: DeadProperty[] = !needDead ? [] : batch ? batch[i]! : await ctx.drive.getProperties(path);
    const locks = !needLocks ? [] : lockBatch ? lockBatch[i]! : await env.activeLocks(path);
    // An answer showing a lock is never stored: its timeout counts down.
    if (locks.length > 0) answerInputs = undefined;
    const cacheable = !(namesQuota && entry.kind === 'folder');
    const fingerprint = cacheable ? entryFingerprint(entry, dead, locks.length > 0 ? lockDiscovery(locks, env) : '') : undefined;
    let xml = fingerprint ? cache.get(slots, path, fingerprint) : undefined;
    if (xml === undefined) {
      const entryEnv: LivePropertyEnv = needLocks ? { ...env, activeLocks: async () => locks } : env;
      const propstats = await propstatsFor(path, entry, request, entryEnv, dead);
      xml = propstatResponseXml(ctx.href(path, entry.kind === 'folder'), propstats);
      if (fingerprint) cache.set(slots, path, fingerprint, xml);
    }
    const flushing = writer.add(xml);
    if (flushing) await flushing;
  }
  await writer.end();
  const body = writer.recorded();
  if (answers && answerInputs && body) answers.set(answerKey, answerInputs, body);
};

/** Whether the answer can hold the DAV: property `local` (propname lists names only: no value). */
function asksFor(request: PropfindRequest, local: string): boolean {
  if (request.kind === 'propname') return false;
  if (request.kind === 'allprop') return local === 'lockdiscovery' || request.include.some((n) => n.ns === DAV_NS && n.local === local);
  return request.names.some((n) => n.ns === DAV_NS && n.local === local);
}

function liveEnv(ctx: RequestContext): LivePropertyEnv {
  let quota: Promise<Quota> | undefined;
  return {
    quota: () => (quota ??= ctx.drive.quota()),
    locking: ctx.settings.locking,
    activeLocks: async (path) => (await ctx.locks?.activeLocks(path)) ?? [],
    href: (path, collection) => ctx.href(path, collection),
  };
}

/** The propstats of one entry; `dead` holds its dead properties when the request can return them. */
async function propstatsFor(
  path: string,
  entry: DriveEntry,
  request: PropfindRequest,
  env: LivePropertyEnv,
  dead: DeadProperty[],
): Promise<PropStat[]> {
  const found: string[] = [];
  const missing: string[] = [];

  if (request.kind === 'propname') {
    for (const name of livePropertyNames(entry, env.locking, false)) found.push(propertyElement(DAV_NS, name));
    for (const p of dead) if (!isLiveProperty(p.namespace, p.name)) found.push(propertyElement(p.namespace, p.name));
    return [{ status: 200, propsXml: found.join('') }];
  }

  const names: PropName[] =
    request.kind === 'prop'
      ? request.names
      : [
          ...livePropertyNames(entry, env.locking, true).map((local) => ({ ns: DAV_NS, local })),
          ...dead.filter((p) => !isLiveProperty(p.namespace, p.name)).map((p) => ({ ns: p.namespace, local: p.name })),
          ...request.include,
        ];

  const seen = new Set<string>();
  for (const name of names) {
    const key = `${name.ns}\n${name.local}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (isLiveProperty(name.ns, name.local)) {
      const value = await livePropertyValue(name.local, path, entry, env);
      if (value === undefined) missing.push(propertyElement(name.ns, name.local));
      else found.push(propertyElement(name.ns, name.local, value));
      continue;
    }
    const deadProp = dead.find((p) => p.namespace === name.ns && p.name === name.local);
    if (deadProp) found.push(deadPropertyElement(name.ns, name.local, deadProp.xml));
    else missing.push(propertyElement(name.ns, name.local));
  }

  const result: PropStat[] = [];
  if (found.length > 0 || missing.length === 0) result.push({ status: 200, propsXml: found.join('') });
  if (missing.length > 0) result.push({ status: 404, propsXml: missing.join('') });
  return result;
}
