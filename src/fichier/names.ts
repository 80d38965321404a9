/**
 * Name codec compatible with rclone's `lib/encoder` MultiEncoder, with the fichier backend's
 * default encoding:
 *   Slash,LtGt,DoubleQuote,SingleQuote,BackQuote,Dollar,BackSlash,Del,Ctl,LeftSpace,RightSpace,InvalidUtf8,Dot
 *
 * Why compatible: a file uploaded by rclone as `a"b` is stored as `a＂b`; reading it back through
 * this codec must give `a"b`, and what we upload must read back right in rclone.
 *
 * Semantics (as rclone's encoder):
 * - reserved ASCII characters become their FULLWIDTH look-alikes (code + 0xFEE0);
 * - NUL and control characters 0x01–0x1F become U+2400 + n (␀…␟), DEL becomes ␡;
 * - a leading and a trailing space become ␠ (U+2420); only one at each end;
 * - the whole names `.` and `..` become `．` and `．．`;
 * - an invalid UTF-8 byte becomes `‛` (U+201B) followed by two upper-case hex digits;
 * - a look-alike that is already in the name is escaped with `‛`, and so is `‛` itself.
 *
 * Encoding works on bytes (Go strings are byte strings), so JS strings are first turned into
 * WTF-8: valid text becomes UTF-8, and a lone surrogate becomes three bytes that are invalid
 * UTF-8 and therefore quoted; decoding turns those back into the same lone surrogate. So every
 * JS string round-trips, and every byte sequence round-trips through `decodeNameBytes`.
 *
 * One deliberate difference from rclone's Decode: rclone decides whether a trailing `␠` was
 * quoted by looking at the single character before it, so the name "‛ " (quote, space), which
 * rclone encodes as "‛‛␠", decodes wrongly in rclone. We count the run of `‛` before it instead
 * (odd = quoted), which is the exact inverse of rclone's Encode. For every name rclone decodes
 * correctly, we decode the same.
 */

export const QUOTE_RUNE = 0x201b; // ‛ SINGLE HIGH-REVERSED-9 QUOTATION MARK
const FULL_OFFSET = 0xfee0;
const SYMBOL_OFFSET = 0x2400; // ␀ SYMBOL FOR NULL
const SYMBOL_SPACE = 0x2420; // ␠
const SYMBOL_DEL = 0x2421; // ␡
const FULLWIDTH_DOT = 0xff0e; // ．
const FULLWIDTH_TILDE = 0xff5e; // ～
const REPLACEMENT = 0xfffd;

/** rclone's MultiEncoder flags (same bit order as lib/encoder). */
export const Enc = {
  Zero: 0,
  Raw: 1 << 0,
  Slash: 1 << 1,
  LtGt: 1 << 2,
  DoubleQuote: 1 << 3,
  SingleQuote: 1 << 4,
  BackQuote: 1 << 5,
  Dollar: 1 << 6,
  Colon: 1 << 7,
  Question: 1 << 8,
  Asterisk: 1 << 9,
  Pipe: 1 << 10,
  Hash: 1 << 11,
  Percent: 1 << 12,
  BackSlash: 1 << 13,
  CrLf: 1 << 14,
  Del: 1 << 15,
  Ctl: 1 << 16,
  LeftSpace: 1 << 17,
  LeftPeriod: 1 << 18,
  LeftTilde: 1 << 19,
  LeftCrLfHtVt: 1 << 20,
  RightSpace: 1 << 21,
  RightPeriod: 1 << 22,
  RightCrLfHtVt: 1 << 23,
  InvalidUtf8: 1 << 24,
  Dot: 1 << 25,
  SquareBracket: 1 << 26,
  Semicolon: 1 << 27,
} as const;

/** The fichier backend's default `encoding` in rclone. */
export const FICHIER_ENCODING =
  Enc.Slash | Enc.LtGt | Enc.DoubleQuote | Enc.SingleQuote | Enc.BackQuote | Enc.Dollar | Enc.BackSlash |
  Enc.Del | Enc.Ctl | Enc.LeftSpace | Enc.RightSpace | Enc.InvalidUtf8 | Enc.Dot;

/** ASCII characters mapped to their FULLWIDTH form, with the flag that enables each. */
const FULLWIDTH_CHARS: Array<[number, string]> = [
  [Enc.Asterisk, '*'],
  [Enc.LtGt, '<>'],
  [Enc.SquareBracket, '[]'],
  [Enc.Semicolon, ';'],
  [Enc.Question, '?'],
  [Enc.Colon, ':'],
  [Enc.Pipe, '|'],
  [Enc.DoubleQuote, '"'],
  [Enc.SingleQuote, "'"],
  [Enc.BackQuote, '`'],
  [Enc.Dollar, '$'],
  [Enc.Slash, '/'],
  [Enc.BackSlash, '\\'],
  [Enc.Hash, '#'],
  [Enc.Percent, '%'],
];

type Action = { kind: 'replace'; to: number } | { kind: 'quote' };

/** Per mask: code point → what Encode does with it (besides NUL, ␀, ‛ and invalid bytes). */
function buildEncodeTable(mask: number): Map<number, Action> {
  const t = new Map<number, Action>();
  for (const [flag, chars] of FULLWIDTH_CHARS) {
    if (!(mask & flag)) continue;
    for (const ch of chars) {
      const c = ch.charCodeAt(0);
      t.set(c, { kind: 'replace', to: c + FULL_OFFSET });
      t.set(c + FULL_OFFSET, { kind: 'quote' });
    }
  }
  if (mask & Enc.CrLf) {
    for (const c of [0x0d, 0x0a]) {
      t.set(c, { kind: 'replace', to: c + SYMBOL_OFFSET });
      t.set(c + SYMBOL_OFFSET, { kind: 'quote' });
    }
  }
  if (mask & Enc.Del) {
    t.set(0x7f, { kind: 'replace', to: SYMBOL_DEL });
    t.set(SYMBOL_DEL, { kind: 'quote' });
  }
  if (mask & Enc.Ctl) {
    for (let c = 1; c <= 0x1f; c++) {
      t.set(c, { kind: 'replace', to: c + SYMBOL_OFFSET });
      t.set(c + SYMBOL_OFFSET, { kind: 'quote' });
    }
  }
  return t;
}

/** Per mask: look-alike code point → original code point, for Decode. */
function buildDecodeTable(mask: number): Map<number, number> {
  const t = new Map<number, number>();
  for (const [c, a] of buildEncodeTable(mask)) if (a.kind === 'replace') t.set(a.to, c);
  return t;
}

// ---------- UTF-8 / WTF-8 helpers (Go-compatible validity) ----------

/** Go's utf8.DecodeRune: [codePoint, length], or [-1, 1] for an invalid byte. */
function decodeRune(b: Uint8Array, i: number): [number, number] {
  const b0 = b[i];
  if (b0 < 0x80) return [b0, 1];
  const n = b.length;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < n && b[i + k] >= lo && b[i + k] <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    return cont(1) ? [((b0 & 0x1f) << 6) | (b[i + 1] & 0x3f), 2] : [-1, 1];
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    if (cont(1, lo, hi) && cont(2)) {
      return [((b0 & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f), 3];
    }
    return [-1, 1];
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    if (cont(1, lo, hi) && cont(2) && cont(3)) {
      return [((b0 & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) | (b[i + 3] & 0x3f), 4];
    }
    return [-1, 1];
  }
  return [-1, 1];
}

function pushUtf8(out: number[], cp: number): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
}

/** A JS string as WTF-8 bytes: lone surrogates are kept as 3-byte (invalid UTF-8) sequences. */
export function toWtf8(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) pushUtf8(out, ch.codePointAt(0)!);
  return Uint8Array.from(out);
}

/** WTF-8 bytes back to a JS string; bytes that are neither UTF-8 nor a surrogate become U+FFFD. */
export function fromWtf8(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; ) {
    const [cp, len] = decodeRune(b, i);
    if (cp >= 0) {
      s += String.fromCodePoint(cp);
      i += len;
      continue;
    }
    // ED A0–BF 80–BF: an encoded lone surrogate (what toWtf8 produced).
    if (b[i] === 0xed && i + 2 < b.length && b[i + 1] >= 0xa0 && b[i + 1] <= 0xbf && b[i + 2] >= 0x80 && b[i + 2] <= 0xbf) {
      s += String.fromCharCode(0xd000 | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f));
      i += 3;
      continue;
    }
    s += String.fromCharCode(REPLACEMENT);
    i += 1;
  }
  return s;
}

function startsWith(b: Uint8Array, start: number, end: number, cp: number): number {
  const enc: number[] = [];
  pushUtf8(enc, cp);
  if (end - start < enc.length) return 0;
  for (let k = 0; k < enc.length; k++) if (b[start + k] !== enc[k]) return 0;
  return enc.length;
}

function endsWith(b: Uint8Array, start: number, end: number, cp: number): number {
  const enc: number[] = [];
  pushUtf8(enc, cp);
  if (end - start < enc.length) return 0;
  for (let k = 0; k < enc.length; k++) if (b[end - enc.length + k] !== enc[k]) return 0;
  return enc.length;
}

const HEX = '0123456789ABCDEF';
const CTL_EDGE = [0x09, 0x0a, 0x0b, 0x0d]; // HT LF VT CR

export class NameCodec {
  private readonly encodeTable: Map<number, Action>;
  private readonly decodeTable: Map<number, number>;

  constructor(readonly mask: number = FICHIER_ENCODING) {
    this.encodeTable = buildEncodeTable(mask);
    this.decodeTable = buildDecodeTable(mask);
  }

  private has(flag: number): boolean {
    return (this.mask & flag) !== 0;
  }

  /** Raw name (text or bytes) → the name to send to 1fichier. */
  encode(name: string | Uint8Array): string {
    const b = typeof name === 'string' ? toWtf8(name) : name;
    if (this.mask === Enc.Raw) return fromWtf8(b);
    if (b.length === 0) return '';
    const q = String.fromCodePoint(QUOTE_RUNE);

    if (this.has(Enc.Dot)) {
      const s = b.length <= 6 ? fromWtf8(b) : '';
      if (s === '.') return '．';
      if (s === '..') return '．．';
      if (s === '．') return q + '．';
      if (s === '．．') return q + '．' + q + '．';
    }

    let start = 0;
    let end = b.length;
    let prefix = '';
    const leftRules: Array<[number, number, number]> = []; // [flag, raw byte, symbol]
    if (this.has(Enc.LeftSpace)) leftRules.push([Enc.LeftSpace, 0x20, SYMBOL_SPACE]);
    if (this.has(Enc.LeftPeriod)) leftRules.push([Enc.LeftPeriod, 0x2e, FULLWIDTH_DOT]);
    if (this.has(Enc.LeftTilde)) leftRules.push([Enc.LeftTilde, 0x7e, FULLWIDTH_TILDE]);
    for (const [, raw, sym] of leftRules) {
      if (b[start] === raw) {
        prefix = String.fromCodePoint(sym);
        start += 1;
      } else {
        const l = startsWith(b, start, end, sym);
        if (l) {
          prefix = q + String.fromCodePoint(sym);
          start += l;
        }
      }
      if (prefix) break;
    }
    if (!prefix && this.has(Enc.LeftCrLfHtVt)) {
      if (CTL_EDGE.includes(b[start])) {
        prefix = String.fromCodePoint(SYMBOL_OFFSET + b[start]);
        start += 1;
      } else {
        for (const c of CTL_EDGE) {
          const l = startsWith(b, start, end, SYMBOL_OFFSET + c);
          if (l) {
            prefix = q + String.fromCodePoint(SYMBOL_OFFSET + c);
            start += l;
            break;
          }
        }
      }
    }

    let suffix = '';
    if (start < end) {
      const rightRules: Array<[number, number]> = [];
      if (this.has(Enc.RightSpace)) rightRules.push([0x20, SYMBOL_SPACE]);
      if (this.has(Enc.RightPeriod)) rightRules.push([0x2e, FULLWIDTH_DOT]);
      for (const [raw, sym] of rightRules) {
        if (b[end - 1] === raw) {
          suffix = String.fromCodePoint(sym);
          end -= 1;
        } else {
          const l = endsWith(b, start, end, sym);
          if (l) {
            suffix = q + String.fromCodePoint(sym);
            end -= l;
          }
        }
        if (suffix) break;
      }
      if (!suffix && this.has(Enc.RightCrLfHtVt)) {
        if (CTL_EDGE.includes(b[end - 1])) {
          suffix = String.fromCodePoint(SYMBOL_OFFSET + b[end - 1]);
          end -= 1;
        } else {
          for (const c of CTL_EDGE) {
            const l = endsWith(b, start, end, SYMBOL_OFFSET + c);
            if (l) {
              suffix = q + String.fromCodePoint(SYMBOL_OFFSET + c);
              end -= l;
              break;
            }
          }
        }
      }
    }

    let out = prefix;
    const body = b.subarray(0, end); // runes must not straddle the stripped suffix
    for (let i = start; i < end; ) {
      const [cp, len] = decodeRune(body, i);
      i += len;
      if (cp < 0) {
        if (this.has(Enc.InvalidUtf8)) {
          const byte = b[i - 1];
          out += q + HEX[byte >> 4] + HEX[byte & 15];
        } else {
          // rclone would copy the raw byte; a JS string cannot hold it.
          out += String.fromCharCode(REPLACEMENT);
        }
        continue;
      }
      if (cp === 0) {
        out += String.fromCodePoint(SYMBOL_OFFSET);
        continue;
      }
      if (cp === SYMBOL_OFFSET || cp === QUOTE_RUNE) {
        out += q + String.fromCodePoint(cp);
        continue;
      }
      const action = this.encodeTable.get(cp);
      if (action?.kind === 'replace') out += String.fromCodePoint(action.to);
      else if (action?.kind === 'quote') out += q + String.fromCodePoint(cp);
      else out += String.fromCodePoint(cp);
    }
    return out + suffix;
  }

  /**
   * Stored name → the original bytes. Exact inverse of `encode` for every byte sequence.
   *
   * With `pathSafe`, look-alikes whose original cannot stand in a path segment stay as stored:
   * an unquoted `／` stays `／` (never `/`), `␀` stays `␀` (never NUL), the whole names `．` and
   * `．．` stay themselves (never `.`/`..`), and `‛XX` invalid-byte escapes stay text. Their
   * quoted forms (`‛／`, `‛␀`, `‛．`) decode to the same look-alike, so `encode` followed by this
   * decode still gives back every name a path can hold.
   */
  decodeBytes(stored: string, pathSafe = false): Uint8Array {
    const cps = Array.from(stored, (c) => c.codePointAt(0)!);
    const out: number[] = [];
    if (this.mask === Enc.Raw) {
      for (const cp of cps) pushUtf8(out, cp);
      return Uint8Array.from(out);
    }
    const Q = QUOTE_RUNE;

    if (this.has(Enc.Dot)) {
      if (stored === '．') return pathSafe ? toWtf8(stored) : Uint8Array.of(0x2e);
      if (stored === '．．') return pathSafe ? toWtf8(stored) : Uint8Array.of(0x2e, 0x2e);
      if (stored === '‛．') return toWtf8('．');
      if (stored === '‛．‛．') return toWtf8('．．');
    }

    let start = 0;
    let end = cps.length;
    let prefixBytes: number[] = [];
    const first = cps[0];
    const leftCtl = (c: number | undefined) =>
      c !== undefined && CTL_EDGE.some((x) => SYMBOL_OFFSET + x === c);
    if (end > 0) {
      if (this.has(Enc.LeftSpace) && first === SYMBOL_SPACE) {
        prefixBytes = [0x20];
        start = 1;
      } else if (this.has(Enc.LeftPeriod) && first === FULLWIDTH_DOT) {
        prefixBytes = [0x2e];
        start = 1;
      } else if (this.has(Enc.LeftTilde) && first === FULLWIDTH_TILDE) {
        prefixBytes = [0x7e];
        start = 1;
      } else if (this.has(Enc.LeftCrLfHtVt) && leftCtl(first)) {
        prefixBytes = [first - SYMBOL_OFFSET];
        start = 1;
      } else if (first === Q && end > 1) {
        const r = cps[1];
        if (
          (this.has(Enc.LeftSpace) && r === SYMBOL_SPACE) ||
          (this.has(Enc.LeftPeriod) && r === FULLWIDTH_DOT) ||
          (this.has(Enc.LeftTilde) && r === FULLWIDTH_TILDE) ||
          (this.has(Enc.LeftCrLfHtVt) && leftCtl(r))
        ) {
          pushUtf8(prefixBytes, r);
          start = 2;
        }
      }
    }

    let suffixBytes: number[] = [];
    if (end > start) {
      const last = cps[end - 1];
      let raw: number | undefined;
      if (this.has(Enc.RightSpace) && last === SYMBOL_SPACE) raw = 0x20;
      else if (this.has(Enc.RightPeriod) && last === FULLWIDTH_DOT) raw = 0x2e;
      else if (this.has(Enc.RightCrLfHtVt) && leftCtl(last)) raw = last - SYMBOL_OFFSET;
      if (raw !== undefined) {
        end -= 1;
        let run = 0;
        while (end - run > start && cps[end - 1 - run] === Q) run++;
        if (run % 2 === 1) {
          pushUtf8(suffixBytes, last);
          end -= 1;
        } else {
          suffixBytes = [raw];
        }
      }
    }

    out.push(...prefixBytes);
    let unquoteNext = false;
    for (let i = start; i < end; i++) {
      const r = cps[i];
      const unquote = unquoteNext;
      unquoteNext = false;
      if (r === SYMBOL_OFFSET) {
        if (unquote || pathSafe) pushUtf8(out, r);
        else out.push(0);
        continue;
      }
      if (r === Q) {
        if (unquote) pushUtf8(out, r);
        else unquoteNext = true;
        continue;
      }
      const original = this.decodeTable.get(r);
      if (original !== undefined) {
        pushUtf8(out, unquote || (pathSafe && original === 0x2f) ? r : original);
        continue;
      }
      if (unquote) {
        if (!pathSafe && this.has(Enc.InvalidUtf8) && i + 1 < end && isHex(cps[i]) && isHex(cps[i + 1])) {
          out.push(parseInt(String.fromCharCode(cps[i], cps[i + 1]), 16));
          i += 1;
          continue;
        }
        pushUtf8(out, Q);
      }
      pushUtf8(out, r);
    }
    if (unquoteNext) pushUtf8(out, Q);
    out.push(...suffixBytes);
    return Uint8Array.from(out);
  }

  /** Stored name → the original name as text (see `decodeBytes` for names that are not text). */
  decode(stored: string): string {
    return fromWtf8(this.decodeBytes(stored));
  }
}

function isHex(cp: number): boolean {
  return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x46) || (cp >= 0x61 && cp <= 0x66);
}

const fichierCodec = new NameCodec(FICHIER_ENCODING);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Raw name → the name stored on 1fichier (rclone-compatible). */
export function encodeName(name: string | Uint8Array): string {
  return fichierCodec.encode(name);
}

/** Stored 1fichier name → the raw name as text. */
export function decodeName(stored: string): string {
  return fichierCodec.decode(stored);
}

/**
 * Stored 1fichier name → the name a path segment can carry: the rclone decoding, except that
 * nothing becomes `/`, NUL, `.`, `..`, an invalid UTF-8 byte or a lone surrogate (see
 * `NameCodec.decodeBytes` with `pathSafe`). This is the name the drive lists and looks up, so a
 * listed name always works as a URL segment: `a／b.txt` (rclone's `/`, or typed in 1fichier's web
 * UI) is listed as `a／b.txt`, not split into a folder `a` and a file `b.txt`.
 *
 * For every segment-safe name `n` (no `/`, no NUL, not `.`/`..`, well-formed UTF-16),
 * `decodePathName(encodeName(n)) === n`: what the bridge writes lists back unchanged.
 */
export function decodePathName(stored: string): string {
  const name = fromWtf8(fichierCodec.decodeBytes(stored, true)).replace(LONE_SURROGATE, '\uFFFD');
  // Upstream forbids these raw; if one ever comes back, it still must not split a path.
  const safe = name.replace(/\//g, '／').replace(/\0/g, '␀');
  if (safe === '' ) return '\uFFFD';
  if (safe === '.' || safe === '..') return safe.replace(/\./g, '．');
  return safe;
}

/** Stored 1fichier name → the raw name's exact bytes (for names that were not valid UTF-8). */
export function decodeNameBytes(stored: string): Uint8Array {
  return fichierCodec.decodeBytes(stored);
}
