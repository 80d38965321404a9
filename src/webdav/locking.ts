/**
 * The seam between the WebDAV method layer (helper DAV) and the lock store (helper LOCKS).
 *
 * CONTRACT (implemented by `LockManager` in lock-manager.ts):
 *
 * - Paths are Drive paths (decoded, absolute, no trailing slash except '/').
 * - Before every state-changing method (PUT, DELETE, MOVE, COPY, PROPPATCH, MKCOL, and LOCK/UNLOCK
 *   themselves as LOCKS sees fit) the method layer calls `checkPreconditions` with the raw `If`
 *   header and the list of resources the request will modify (`targets`). Read methods (GET, HEAD,
 *   PROPFIND, OPTIONS) call it too with `targets: []` when an `If` header is present, because
 *   RFC 4918 §10.4 makes a false If header fail any method with 412.
 * - Target semantics:
 *     { path, depth: 0 }          the resource itself changes (content, properties, or — for a
 *                                 collection — its membership: a member is added or removed);
 *     { path, depth: 'infinity' } the resource AND everything below it changes (DELETE or MOVE of
 *                                 a collection, COPY/MOVE replacing a destination collection).
 *   A lock L (root R, depth D) blocks target T unless the If header submits L's token:
 *     - T.path === R, or D === 'infinity' and T.path is below R;
 *     - or T.depth === 'infinity' and R is below T.path.
 *   The method layer adds the parent collection as a depth-0 target whenever membership changes
 *   (new resource created by PUT/MKCOL/COPY/MOVE destination, resource removed by DELETE/MOVE).
 * - Result: { ok: true } to proceed; { ok: false, status: 412 } when the If header is present but
 *   evaluates false (§10.4.1); { ok: false, status: 423, lockRoot } when a target is locked and no
 *   matching token was submitted (the method layer answers 423 with
 *   `<D:error><D:lock-token-submitted><D:href>{lockRoot}</D:href></D:lock-token-submitted></D:error>`).
 *   A malformed If header: { ok: false, status: 400 }.
 * - The If evaluator needs resource state it cannot know: `etagOf(path)` (quoted strong ETag as
 *   sent in headers, undefined when the resource does not exist) and `resolveHref(uri)` (maps a
 *   tagged-list Resource-Tag — absolute URI or absolute path — to a Drive path; undefined when it
 *   does not belong to this server). Both come from `IfEvaluationEnv`.
 * - After a successful DELETE, or MOVE (source), the method layer calls `forgetTree(path)`:
 *   locks rooted at path or below vanish with the resources (RFC 4918 §7.7 / §9.9.4: locks do not
 *   move with a resource).
 * - PROPFIND asks `activeLocks(path)` for `lockdiscovery`: every lock whose scope covers the path
 *   (rooted at it, or depth-infinity on an ancestor), timeouts already expired excluded.
 * - Ownership (RFC 4918 §6.4): the method layer passes the authenticated principal; a token of a
 *   lock another principal created does not count as submitted (423), and refresh/UNLOCK of it
 *   is refused (403). Without authentication every request is the same anonymous principal.
 * - Lock-null resources: LOCK on an unmapped URL creates an empty file through Drive.write
 *   (RFC 4918 §7.3, "locked empty resource"), so PROPFIND/GET need nothing special for them.
 *
 * LOCKS → DAV (implemented):
 * - `LockManager` (lock-manager.ts) implements LockManagerPort. Construct with
 *   `new LockManager({ now?, maxTimeoutSeconds? (default 3600), defaultTimeoutSeconds?, maxLocks?, store? })`;
 *   records live in a `LockStore` (lock-store.ts), in memory by default.
 * - Handlers: `lock` (methods/lock.ts) and `unlock` (methods/unlock.ts), registered in
 *   builtinMethods as LOCK / UNLOCK. They need ctx.locks to BE a LockManager (else 501).
 * - Lock-null: LOCK on an unmapped URL creates an empty file with Drive.write (size 0) → 201; it
 *   stays after UNLOCK (RFC 4918 §7.3).
 * - ownerXml is stored self-contained (each child element declares its own xmlns), so
 *   `<D:owner>${ownerXml}</D:owner>` in activeLockXml is correct as is; LOCK answers reuse it.
 * - Submitted tokens: every non-negated state token in any list (tagged or untagged) counts; a
 *   token also matches unmapped URLs inside its depth-infinity lock (clients creating members).
 */

export type LockScope = 'exclusive' | 'shared';
export type LockDepth = 0 | 'infinity';

export interface ActiveLockInfo {
  /** The lock token URI, e.g. 'urn:uuid:…' or 'opaquelocktoken:…' (without angle brackets). */
  token: string;
  /** Drive path of the lock root. */
  root: string;
  scope: LockScope;
  depth: LockDepth;
  /** Inner XML of the client's <D:owner> element ('' when none), replayed verbatim. */
  ownerXml: string;
  /** Seconds remaining, or 'infinite'. */
  timeout: number | 'infinite';
}

export interface WriteTarget {
  path: string;
  depth: LockDepth;
}

export interface IfEvaluationEnv {
  /** The Drive path of the Request-URI (untagged lists apply to it). */
  requestPath: string;
  /** Quoted ETag of a resource, undefined if it does not exist. */
  etagOf(path: string): Promise<string | undefined>;
  /** Drive path for a Resource-Tag URI (absolute URI or absolute path); undefined if foreign/bad. */
  resolveHref(uri: string): string | undefined;
}

export type PreconditionResult =
  | { ok: true }
  | { ok: false; status: 412 | 400; message?: string }
  | { ok: false; status: 423; lockRoot: string; message?: string };

export interface LockManagerPort {
  checkPreconditions(input: {
    ifHeader: string | undefined;
    targets: WriteTarget[];
    env: IfEvaluationEnv;
    /** The authenticated user making the request (undefined without authentication). */
    principal?: string;
  }): Promise<PreconditionResult>;
  activeLocks(path: string): Promise<ActiveLockInfo[]>;
  /** Optional batch form of activeLocks: one store read for a whole listing (same order as `paths`). */
  activeLocksOf?(paths: string[]): Promise<ActiveLockInfo[][]>;
  /**
   * Optional: whether any live lock covers `path` or is rooted below it (read fresh from the
   * store on every call: locks of other bridges count). A cached PROPFIND answer without locks is
   * reused only while this is false.
   */
  hasLocksTouching?(path: string): Promise<boolean>;
  forgetTree(path: string): Promise<void>;
}
