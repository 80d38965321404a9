/**
 * Bounds on dead properties (PROPPATCH values), checked before anything is stored, so a client
 * cannot grow the local state (and the memory and PROPFIND time that follow it) without limit.
 * Sizes count the bytes of the namespace, the name and the value's XML (UTF-8).
 *
 * Defaults are far above what real clients store (Windows' four Win32* times are under 300 bytes,
 * Finder's tags a few hundred) and far below what hurts.
 * A patch over a limit fails as a whole with DriveError 'insufficient-storage': RFC 4918 §9.2.1
 * has 507 "the server did not have sufficient space to record the property" for it; a request
 * body over the body cap is refused earlier with 413.
 */
import { DriveError, type DeadProperty, type PropertyPatch } from './types.js';

export interface DeadPropertyLimits {
  /** One property. Default 64 KiB. */
  maxPropertyBytes?: number;
  /** All dead properties of one resource. Default 256 KiB. */
  maxResourceBytes?: number;
  /** All dead properties of the account. Default 64 MiB. */
  maxTotalBytes?: number;
}

export const DEFAULT_DEAD_PROPERTY_LIMITS: Required<DeadPropertyLimits> = {
  maxPropertyBytes: 64 * 1024,
  maxResourceBytes: 256 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
};

/** Bytes a property counts for. */
export function propertyBytes(p: DeadProperty): number {
  return Buffer.byteLength(p.namespace) + Buffer.byteLength(p.name) + Buffer.byteLength(p.xml);
}

/** Bytes of a resource's dead properties. */
export function resourceBytes(properties: readonly DeadProperty[]): number {
  return properties.reduce((sum, p) => sum + propertyBytes(p), 0);
}

/**
 * Checks `patches` against the limits given the resource's current properties and the account's
 * current total; returns the resource's size after the patch. Throws DriveError
 * 'insufficient-storage' naming the limit when one would be exceeded.
 */
export function checkDeadPropertyPatch(
  current: readonly DeadProperty[],
  patches: readonly PropertyPatch[],
  totalBytes: number,
  limits: DeadPropertyLimits = {},
): number {
  const max = { ...DEFAULT_DEAD_PROPERTY_LIMITS, ...limits };
  const after = new Map(current.map((p) => [`${p.namespace} ${p.name}`, p]));
  for (const patch of patches) {
    if (patch.op === 'remove') {
      after.delete(`${patch.namespace} ${patch.name}`);
      continue;
    }
    const size = propertyBytes(patch.property);
    if (size > max.maxPropertyBytes) {
      throw new DriveError(
        'insufficient-storage',
        `the property ${patch.property.name} is ${size} bytes; at most ${max.maxPropertyBytes} bytes are stored per property`,
      );
    }
    after.set(`${patch.property.namespace} ${patch.property.name}`, patch.property);
  }
  const before = resourceBytes(current);
  const next = resourceBytes([...after.values()]);
  if (next > before && next > max.maxResourceBytes) {
    throw new DriveError('insufficient-storage', `at most ${max.maxResourceBytes} bytes of properties are stored per resource`);
  }
  if (next > before && totalBytes - before + next > max.maxTotalBytes) {
    throw new DriveError('insufficient-storage', `the properties of this account are at their limit (${max.maxTotalBytes} bytes in all)`);
  }
  return next;
}
