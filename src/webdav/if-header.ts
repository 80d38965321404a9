/**
 * The WebDAV `If` request header (RFC 4918 §10.4): parser and evaluator.
 *
 *   If           = ( 1*No-tag-list | 1*Tagged-list )
 *   No-tag-list  = List
 *   Tagged-list  = Resource-Tag 1*List
 *   List         = "(" 1*Condition ")"
 *   Condition    = ["Not"] ( State-token | "[" entity-tag "]" )
 *   State-token  = Coded-URL               ; "<" absolute-URI ">"
 *   Resource-Tag = "<" Simple-ref ">"       ; absolute-URI or absolute path
 *
 * Lists are ORed, the conditions of one list are ANDed; untagged lists apply to the Request-URI,
 * tagged lists to their resource. Whitespace (including folded CR/LF) may appear between any two
 * tokens, and "Not" is matched case-insensitively (ABNF literals are).
 *
 * Two deliberate leniencies, both because real requests produce them and refusing them would break
 * clients without protecting anything:
 * - commas between lists or tags are skipped: Node joins repeated `If` header lines with ", ";
 * - untagged lists may precede tagged ones (again what joining two headers produces); they still
 *   apply to the Request-URI. Untagged lists after a tag belong to that tag, as the grammar says.
 * Anything else that does not match the grammar is an `IfHeaderError` (the handlers answer 400).
 */

export class IfHeaderError extends Error {
  override readonly name = 'IfHeaderError';
  constructor(
    message: string,
    /** Offset in the header value where parsing failed. */
    readonly position: number,
  ) {
    super(`Malformed If header at offset ${position}: ${message}`);
  }
}

export interface StateTokenCondition {
  kind: 'state-token';
  negated: boolean;
  /** The Coded-URL without its angle brackets (e.g. 'urn:uuid:…', 'DAV:no-lock'). */
  token: string;
}

export interface EntityTagCondition {
  kind: 'etag';
  negated: boolean;
  weak: boolean;
  /** The entity tag as a header carries it, quotes included, `W/` excluded (e.g. '"abc"'). */
  opaque: string;
}

export type IfCondition = StateTokenCondition | EntityTagCondition;

export interface IfList {
  /** The Resource-Tag (without angle brackets) for a tagged list; undefined for an untagged one. */
  resourceTag?: string;
  conditions: IfCondition[];
}

export interface ParsedIfHeader {
  lists: IfList[];
}

/** A header longer than this is refused: no legitimate client sends kilobytes of conditions. */
const MAX_IF_HEADER_LENGTH = 16 * 1024;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

export function parseIfHeader(value: string): ParsedIfHeader {
  if (value.length > MAX_IF_HEADER_LENGTH) throw new IfHeaderError('header too long', 0);
  const p = new Cursor(value);
  const lists: IfList[] = [];
  let tag: string | undefined;
  let tagHasList = true;

  p.skipSeparators();
  if (p.done()) throw new IfHeaderError('empty header', 0);
  while (!p.done()) {
    const c = p.peek();
    if (c === '<') {
      if (!tagHasList) throw new IfHeaderError('resource tag without a list', p.pos);
      tag = readResourceTag(p);
      tagHasList = false;
    } else if (c === '(') {
      lists.push(tag === undefined ? { conditions: readList(p) } : { resourceTag: tag, conditions: readList(p) });
      tagHasList = true;
    } else {
      throw new IfHeaderError(`unexpected character ${JSON.stringify(c)}`, p.pos);
    }
    p.skipSeparators();
  }
  if (!tagHasList) throw new IfHeaderError('resource tag without a list', p.pos);
  return { lists };
}

function readResourceTag(p: Cursor): string {
  const start = p.pos;
  const tag = p.readAngle();
  if (!(SCHEME.test(tag) || tag.startsWith('/'))) {
    throw new IfHeaderError('resource tag is neither an absolute URI nor an absolute path', start);
  }
  return tag;
}

function readList(p: Cursor): IfCondition[] {
  p.expect('(');
  const conditions: IfCondition[] = [];
  for (;;) {
    p.skipWhitespace();
    if (p.done()) throw new IfHeaderError('unterminated list', p.pos);
    if (p.peek() === ')') {
      if (conditions.length === 0) throw new IfHeaderError('empty list', p.pos);
      p.pos++;
      return conditions;
    }
    conditions.push(readCondition(p));
  }
}

function readCondition(p: Cursor): IfCondition {
  let negated = false;
  if (p.rest(3).toLowerCase() === 'not') {
    negated = true;
    p.pos += 3;
    p.skipWhitespace();
  }
  const start = p.pos;
  const c = p.peek();
  if (c === '<') {
    const token = p.readAngle();
    if (!SCHEME.test(token) || token.length <= token.indexOf(':') + 1) {
      throw new IfHeaderError('state token is not an absolute URI', start);
    }
    return { kind: 'state-token', negated, token };
  }
  if (c === '[') {
    p.pos++;
    p.skipWhitespace();
    let weak = false;
    if (p.rest(2) === 'W/') {
      weak = true;
      p.pos += 2;
    }
    const opaque = p.readQuoted();
    p.skipWhitespace();
    p.expect(']');
    return { kind: 'etag', negated, weak, opaque };
  }
  throw new IfHeaderError(
    c === undefined ? 'condition expected' : `condition expected, got ${JSON.stringify(c)}`,
    start,
  );
}

class Cursor {
  pos = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.pos >= this.s.length;
  }

  peek(): string | undefined {
    return this.s[this.pos];
  }

  rest(n: number): string {
    return this.s.slice(this.pos, this.pos + n);
  }

  skipWhitespace(): void {
    while (!this.done() && isWhitespace(this.s[this.pos])) this.pos++;
  }

  skipSeparators(): void {
    while (!this.done() && (isWhitespace(this.s[this.pos]) || this.s[this.pos] === ',')) this.pos++;
  }

  expect(ch: string): void {
    if (this.s[this.pos] !== ch) {
      throw new IfHeaderError(`${JSON.stringify(ch)} expected`, this.pos);
    }
    this.pos++;
  }

  /** `<…>` with no whitespace or angle bracket inside, non-empty; returns the inside. */
  readAngle(): string {
    const start = this.pos;
    this.expect('<');
    const end = this.s.indexOf('>', this.pos);
    if (end < 0) throw new IfHeaderError('unterminated <…>', start);
    const inside = this.s.slice(this.pos, end);
    if (inside.length === 0) throw new IfHeaderError('empty <>', start);
    if (/[\s<\x00-\x1f\x7f]/.test(inside)) throw new IfHeaderError('invalid character inside <…>', start);
    this.pos = end + 1;
    return inside;
  }

  /** A quoted entity tag (RFC 7232 etagc: no DQUOTE, no controls); returns it with its quotes. */
  readQuoted(): string {
    const start = this.pos;
    this.expect('"');
    const end = this.s.indexOf('"', this.pos);
    if (end < 0) throw new IfHeaderError('unterminated entity tag', start);
    const inside = this.s.slice(this.pos, end);
    if (/[\x00-\x20\x7f]/.test(inside)) throw new IfHeaderError('invalid character in entity tag', start);
    this.pos = end + 1;
    return `"${inside}"`;
  }
}

function isWhitespace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export interface IfResourceState {
  /** Quoted strong ETag; undefined when the resource is unmapped (its ETag conditions are false). */
  etag: string | undefined;
  /** Tokens of every lock whose scope covers the resource (rooted at it or inherited). */
  lockTokens: ReadonlySet<string>;
}

export interface IfEvaluationContext {
  /** Decoded path of the Request-URI: untagged lists are evaluated against it. */
  requestPath: string;
  /** Path for a Resource-Tag; undefined when the URI does not name a resource of this server. */
  resolveTag(tag: string): string | undefined;
  stateOf(path: string): Promise<IfResourceState>;
}

export interface IfEvaluation {
  /** The header as a whole (RFC 4918 §10.4.3): false → 412 Precondition Failed. */
  satisfied: boolean;
  /**
   * Lock tokens the client submitted, for lock-ownership checks (RFC 4918 §6.4, §7.5).
   *
   * Rule: a token counts when it appears non-negated in ANY list, tagged or untagged, whichever
   * list made the header true. This is what mod_dav-era clients rely on: neon tags the token with
   * the lock root (a collection) while writing a member; Windows sends untagged `(<token>)` lists;
   * litmus' cond_put_corrupt_token expects `(<bad>) (Not <DAV:no-lock>)` to be *true* yet still
   * 423, which only works if submission is separate from the list that matched. A token after
   * `Not` asserts the client does *not* rely on that lock, so it is not a submission.
   */
  submittedTokens: Set<string>;
}

/**
 * ETags use the strong comparison (RFC 7232 §2.3.2), as for If-Match: a weak tag never matches,
 * since the If header guards writes (lost updates), where "semantically equivalent" is not enough.
 * A state token matches when a lock covering the resource has exactly that token (RFC 4918
 * §10.4.4); `DAV:no-lock` never matches anything.
 *
 * One deliberate reading of §10.4.6 ("unmapped URLs never match a state token"): a lock token is
 * taken to match an unmapped URL that lies inside a depth-infinity lock, because such a lock
 * protects the creation of new members (§7.4) and clients creating a member send the lock's token
 * in an untagged list; refusing it with 412 would make locked collections unwritable for them.
 * The `stateOf` implementation decides this by what it reports in `lockTokens`.
 */
export async function evaluateIfHeader(
  parsed: ParsedIfHeader,
  context: IfEvaluationContext,
): Promise<IfEvaluation> {
  const submittedTokens = new Set<string>();
  for (const list of parsed.lists) {
    for (const c of list.conditions) {
      if (c.kind === 'state-token' && !c.negated) submittedTokens.add(c.token);
    }
  }

  const states = new Map<string, Promise<IfResourceState>>();
  const stateOf = (path: string) => {
    let s = states.get(path);
    if (!s) {
      s = context.stateOf(path);
      states.set(path, s);
    }
    return s;
  };

  for (const list of parsed.lists) {
    const path = list.resourceTag === undefined ? context.requestPath : context.resolveTag(list.resourceTag);
    const state: IfResourceState =
      path === undefined ? { etag: undefined, lockTokens: new Set() } : await stateOf(path);
    if (list.conditions.every((c) => conditionHolds(c, state))) {
      return { satisfied: true, submittedTokens };
    }
  }
  return { satisfied: false, submittedTokens };
}

function conditionHolds(c: IfCondition, state: IfResourceState): boolean {
  const matches =
    c.kind === 'state-token'
      ? state.lockTokens.has(c.token)
      : !c.weak && state.etag !== undefined && strongEtagEquals(c.opaque, state.etag);
  return c.negated ? !matches : matches;
}

/** Both sides quoted; a weak current ETag (W/…) never matches strongly. */
function strongEtagEquals(requested: string, current: string): boolean {
  return !current.startsWith('W/') && requested === current;
}
