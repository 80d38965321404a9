/**
 * Live properties (RFC 4918 §15, RFC 4331) computed from a Drive entry. All are protected: a
 * PROPPATCH touching one gets 403 cannot-modify-protected-property.
 *
 * The quota properties are computed for collections only and left out of allprop (RFC 4331 §3/§4:
 * they can be expensive; clients that want them — Explorer, Finder — name them).
 */
import type { DriveEntry, Quota } from '../../drive/types.js';
import type { ActiveLockInfo } from '../locking.js';
import { escapeXml } from '../xml/escape.js';
import { DAV_NS } from '../xml/tree.js';
import { httpDate, isoDate, quotedEtag } from './format.js';

export interface LivePropertyEnv {
  /** Quota when a collection needs it (fetched once per request, lazily). */
  quota(): Promise<Quota>;
  /** Whether locking is offered (supportedlock / lockdiscovery). */
  locking: boolean;
  activeLocks(path: string): Promise<ActiveLockInfo[]>;
  href(path: string, collection: boolean): string;
}

export const LIVE_PROPERTY_NAMES = [
  'resourcetype',
  'getcontentlength',
  'getcontenttype',
  'getetag',
  'getlastmodified',
  'creationdate',
  'displayname',
  'supportedlock',
  'lockdiscovery',
  'quota-available-bytes',
  'quota-used-bytes',
] as const;

const LIVE_SET = new Set<string>(LIVE_PROPERTY_NAMES);
const NOT_IN_ALLPROP = new Set(['quota-available-bytes', 'quota-used-bytes']);

export function isLiveProperty(ns: string, local: string): boolean {
  return ns === DAV_NS && LIVE_SET.has(local);
}

/** Live property names defined for this entry (for propname and allprop). */
export function livePropertyNames(entry: DriveEntry, locking: boolean, forAllprop: boolean): string[] {
  return LIVE_PROPERTY_NAMES.filter((name) => {
    if (forAllprop && NOT_IN_ALLPROP.has(name)) return false;
    if (!locking && (name === 'supportedlock' || name === 'lockdiscovery')) return false;
    if (entry.kind === 'folder' && (name === 'getcontentlength' || name === 'getcontenttype')) return false;
    if (entry.kind === 'file' && (name === 'quota-available-bytes' || name === 'quota-used-bytes')) return false;
    return true;
  });
}

/** Inner XML of a live property, or undefined when this resource does not have it (→ 404 propstat). */
export async function livePropertyValue(
  name: string,
  path: string,
  entry: DriveEntry,
  env: LivePropertyEnv,
): Promise<string | undefined> {
  const folder = entry.kind === 'folder';
  switch (name) {
    case 'resourcetype':
      return folder ? '<D:collection/>' : '';
    case 'getcontentlength':
      return folder ? undefined : String(entry.size);
    case 'getcontenttype':
      return folder ? undefined : escapeXml(entry.contentType ?? 'application/octet-stream');
    case 'getetag':
      return escapeXml(quotedEtag(entry.etag));
    case 'getlastmodified':
      return httpDate(entry.modified);
    case 'creationdate':
      return isoDate(entry.created ?? entry.modified);
    case 'displayname':
      return escapeXml(entry.name);
    case 'supportedlock':
      return env.locking ? SUPPORTED_LOCK : undefined;
    case 'lockdiscovery':
      return env.locking ? lockDiscovery(await env.activeLocks(path), env) : undefined;
    case 'quota-available-bytes':
    case 'quota-used-bytes': {
      if (!folder) return undefined;
      // Quota is informational: when the storage cannot tell now (e.g. 1fichier flooding), the
      // property is reported missing rather than failing a listing that is otherwise at hand.
      const quota = await env.quota().catch(() => undefined);
      if (!quota) return undefined;
      return String(Math.max(0, name === 'quota-used-bytes' ? quota.usedBytes : quota.availableBytes));
    }
    default:
      return undefined;
  }
}

const SUPPORTED_LOCK =
  '<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>' +
  '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>';

/** The content of <D:lockdiscovery> (one <D:activelock> per lock). Also used by LOCK responses. */
export function lockDiscovery(locks: ActiveLockInfo[], env: Pick<LivePropertyEnv, 'href'>): string {
  return locks.map((lock) => activeLockXml(lock, env)).join('');
}

export function activeLockXml(lock: ActiveLockInfo, env: Pick<LivePropertyEnv, 'href'>): string {
  const timeout = lock.timeout === 'infinite' ? 'Infinite' : `Second-${Math.max(0, Math.floor(lock.timeout))}`;
  return (
    '<D:activelock>' +
    `<D:locktype><D:write/></D:locktype><D:lockscope><D:${lock.scope}/></D:lockscope>` +
    `<D:depth>${lock.depth === 0 ? '0' : 'infinity'}</D:depth>` +
    (lock.ownerXml ? `<D:owner>${lock.ownerXml}</D:owner>` : '') +
    `<D:timeout>${timeout}</D:timeout>` +
    `<D:locktoken><D:href>${escapeXml(lock.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${escapeXml(env.href(lock.root, false))}</D:href></D:lockroot>` +
    '</D:activelock>'
  );
}
