import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  evaluateIfHeader,
  IfHeaderError,
  parseIfHeader,
  type IfEvaluationContext,
  type IfResourceState,
} from '../../src/webdav/if-header.js';

const T1 = 'urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2';
const T2 = 'opaquelocktoken:e71d4fae-5dec-22d6-fea5-00a0c91e6be4';

describe('parseIfHeader: productions', () => {
  it('parses an untagged list with one state token (Windows style)', () => {
    expect(parseIfHeader(`(<${T1}>)`)).toEqual({
      lists: [{ conditions: [{ kind: 'state-token', negated: false, token: T1 }] }],
    });
  });

  it('parses several untagged lists (OR) with several conditions (AND)', () => {
    const parsed = parseIfHeader(`(<${T1}> ["etag1"]) (Not <DAV:no-lock> [W/"etag2"])`);
    expect(parsed.lists).toEqual([
      {
        conditions: [
          { kind: 'state-token', negated: false, token: T1 },
          { kind: 'etag', negated: false, weak: false, opaque: '"etag1"' },
        ],
      },
      {
        conditions: [
          { kind: 'state-token', negated: true, token: 'DAV:no-lock' },
          { kind: 'etag', negated: false, weak: true, opaque: '"etag2"' },
        ],
      },
    ]);
  });

  it('parses tagged lists with absolute URIs and absolute paths, each tag owning the lists after it', () => {
    const parsed = parseIfHeader(
      `<http://www.example.com/specs/> (<${T1}>) ([W/"a"]) </resource1> (Not <${T2}>)`,
    );
    expect(parsed.lists).toEqual([
      { resourceTag: 'http://www.example.com/specs/', conditions: [{ kind: 'state-token', negated: false, token: T1 }] },
      { resourceTag: 'http://www.example.com/specs/', conditions: [{ kind: 'etag', negated: false, weak: true, opaque: '"a"' }] },
      { resourceTag: '/resource1', conditions: [{ kind: 'state-token', negated: true, token: T2 }] },
    ]);
  });

  it('accepts arbitrary whitespace, folded lines and no whitespace at all', () => {
    const compact = parseIfHeader(`</a>(<${T1}>["x"])(Not<DAV:no-lock>)`);
    const spaced = parseIfHeader(`  </a>\r\n\t (  <${T1}>   [ "x" ]  )\t(\tNot   <DAV:no-lock>\n)  `);
    expect(spaced).toEqual(compact);
    expect(compact.lists).toHaveLength(2);
  });

  it('matches "Not" case-insensitively', () => {
    for (const not of ['Not', 'NOT', 'not', 'nOt']) {
      expect(parseIfHeader(`(${not} <DAV:no-lock>)`).lists[0].conditions[0]).toMatchObject({ negated: true });
    }
  });

  it('keeps any Coded-URL as a state token, including DAV:no-lock', () => {
    for (const token of ['DAV:no-lock', 'opaquelocktoken:abc', 'urn:uuid:x', 'http://example.com/x?y']) {
      expect(parseIfHeader(`(<${token}>)`).lists[0].conditions[0]).toEqual({
        kind: 'state-token',
        negated: false,
        token,
      });
    }
  });

  it('skips commas between lists (Node joins repeated If headers with ", ")', () => {
    expect(parseIfHeader(`(<${T1}>), (<${T2}>)`).lists).toHaveLength(2);
    const mixed = parseIfHeader(`(<${T1}>), </a> (<${T2}>)`);
    expect(mixed.lists[0].resourceTag).toBeUndefined();
    expect(mixed.lists[1].resourceTag).toBe('/a');
  });
});

describe('parseIfHeader: malformed input is a typed error', () => {
  const bad = [
    '',
    '   ',
    '<urn:uuid:x>',
    '(<urn:uuid:x>',
    '()',
    '( )',
    '(urn:uuid:x)',
    '<urn:uuid:x> <http://a/b> (<urn:uuid:y>)',
    '</a>',
    '(<>)',
    '(<no-scheme>)',
    '(<urn:>)',
    '(<urn:uuid:a b>)',
    '(Not)',
    '(Not Not <DAV:no-lock>)',
    '(Nothing <DAV:no-lock>)',
    '([abc])',
    '(["abc)',
    '(["abc")',
    '([w/"abc"])',
    '(["a b"])',
    '(<urn:uuid:x>) garbage',
    '<relative/path> (<urn:uuid:x>)',
    'x'.repeat(20_000),
    `(<urn:uuid:x>))`,
  ];
  for (const value of bad) {
    it(`rejects ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`, () => {
      expect(() => parseIfHeader(value)).toThrow(IfHeaderError);
    });
  }

  it('reports where parsing failed', () => {
    try {
      parseIfHeader('(<urn:uuid:x>) ?');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(IfHeaderError);
      expect((err as IfHeaderError).position).toBe(15);
    }
  });
});

function context(
  requestPath: string,
  resources: Record<string, { etag?: string; tokens?: string[] }>,
  calls: string[] = [],
): IfEvaluationContext {
  return {
    requestPath,
    resolveTag: (tag) => {
      if (tag.startsWith('/')) return tag;
      const url = new URL(tag);
      return url.host === 'dav.test' ? url.pathname : undefined;
    },
    stateOf: async (path): Promise<IfResourceState> => {
      calls.push(path);
      const r = resources[path];
      return { etag: r?.etag, lockTokens: new Set(r?.tokens ?? []) };
    },
  };
}

async function evaluate(header: string, ctx: IfEvaluationContext) {
  return evaluateIfHeader(parseIfHeader(header), ctx);
}

describe('evaluateIfHeader', () => {
  const resources = {
    '/file': { etag: '"e1"', tokens: [T1] },
    '/other': { etag: '"e2"', tokens: [] },
  };

  it('untagged lists apply to the request URI', async () => {
    expect((await evaluate(`(<${T1}>)`, context('/file', resources))).satisfied).toBe(true);
    expect((await evaluate(`(<${T1}>)`, context('/other', resources))).satisfied).toBe(false);
  });

  it('conditions in a list are ANDed', async () => {
    const ctx = context('/file', resources);
    expect((await evaluate(`(<${T1}> ["e1"])`, ctx)).satisfied).toBe(true);
    expect((await evaluate(`(<${T1}> ["e2"])`, ctx)).satisfied).toBe(false);
  });

  it('lists are ORed', async () => {
    const ctx = context('/file', resources);
    expect((await evaluate(`(["nope"]) (<${T1}>)`, ctx)).satisfied).toBe(true);
    expect((await evaluate(`(["nope"]) (<${T2}>)`, ctx)).satisfied).toBe(false);
  });

  it('Not inverts one condition only', async () => {
    const ctx = context('/file', resources);
    expect((await evaluate('(Not <DAV:no-lock>)', ctx)).satisfied).toBe(true);
    expect((await evaluate('(<DAV:no-lock>)', ctx)).satisfied).toBe(false);
    expect((await evaluate(`(Not <${T1}>)`, ctx)).satisfied).toBe(false);
    expect((await evaluate(`(Not ["e2"] ["e1"])`, ctx)).satisfied).toBe(true);
    expect((await evaluate(`(Not ["e1"])`, ctx)).satisfied).toBe(false);
  });

  it('compares ETags strongly: a weak tag never matches', async () => {
    const ctx = context('/file', resources);
    expect((await evaluate('(["e1"])', ctx)).satisfied).toBe(true);
    expect((await evaluate('([W/"e1"])', ctx)).satisfied).toBe(false);
    const weakCurrent = context('/w', { '/w': { etag: 'W/"e1"' } });
    expect((await evaluate('(["e1"])', weakCurrent)).satisfied).toBe(false);
  });

  it('tagged lists apply to their own resource, whatever the request URI', async () => {
    const ctx = context('/other', resources);
    expect((await evaluate(`<http://dav.test/file> (<${T1}>)`, ctx)).satisfied).toBe(true);
    expect((await evaluate(`</file> (<${T1}> ["e1"])`, ctx)).satisfied).toBe(true);
    expect((await evaluate(`</other> (<${T1}>)`, context('/file', resources))).satisfied).toBe(false);
    // The header is true when any tagged production is.
    expect((await evaluate(`</other> (<${T1}>) </file> (<${T1}>)`, ctx)).satisfied).toBe(true);
  });

  it('a foreign or unmapped resource matches no token and no ETag, so only Not holds', async () => {
    const ctx = context('/file', resources);
    expect((await evaluate(`<http://elsewhere.test/file> (<${T1}>)`, ctx)).satisfied).toBe(false);
    expect((await evaluate('<http://elsewhere.test/file> (Not ["e1"])', ctx)).satisfied).toBe(true);
    expect((await evaluate('(["e1"])', context('/missing', resources))).satisfied).toBe(false);
    expect((await evaluate('(Not <DAV:no-lock>)', context('/missing', resources))).satisfied).toBe(true);
  });

  it('litmus conditional PUTs', async () => {
    const ctx = context('/file', resources);
    expect((await evaluate(`(<${T1}> ["e1"])`, ctx)).satisfied).toBe(true); // cond_put
    expect((await evaluate('(<DAV:no-lock> ["e1"])', ctx)).satisfied).toBe(false); // fail_cond_put
    expect((await evaluate(`(<${T1}>) (Not <DAV:no-lock>)`, ctx)).satisfied).toBe(true); // cond_put_with_not
    const corrupt = await evaluate(`(<${T1}x>) (Not <DAV:no-lock>)`, ctx); // cond_put_corrupt_token
    expect(corrupt.satisfied).toBe(true);
    expect(corrupt.submittedTokens.has(T1)).toBe(false);
    expect((await evaluate(`(<${T1}> ["e1"]) (Not <DAV:no-lock> ["e1"])`, ctx)).satisfied).toBe(true);
    expect((await evaluate(`(<${T1}> ["e0"]) (Not <DAV:no-lock> ["e0"])`, ctx)).satisfied).toBe(false);
  });

  it('collects every non-negated token from every list as submitted', async () => {
    const result = await evaluate(
      `(["nope"] <${T1}>) </other> (<${T2}>) (Not <urn:uuid:negated> ["nope"])`,
      context('/file', resources),
    );
    expect(result.satisfied).toBe(false);
    expect([...result.submittedTokens].sort()).toEqual([T2, T1].sort());
  });

  it('looks each resource up once however many lists name it', async () => {
    const calls: string[] = [];
    await evaluate(`(["a"]) (["b"]) (["c"]) </other> (["x"]) (["y"])`, context('/file', resources, calls));
    expect(calls).toEqual(['/file', '/other']);
  });
});

describe('parseIfHeader: property-based', () => {
  const ws = fc.constantFrom('', ' ', '  ', '\t', '\r\n ', ' \t ');
  const uriChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-._~:/?#@!$&\'*+;=%'.split(''));
  const uriTail = fc.string({ unit: uriChar, minLength: 1, maxLength: 20 });
  const token = fc.oneof(
    fc.constant('DAV:no-lock'),
    fc.uuid().map((u) => `urn:uuid:${u}`),
    uriTail.map((t) => `opaquelocktoken:${t}`),
  );
  const etagChar = fc.constantFrom(...'abcdefXYZ0123456789-_.:/!#$%&()*+,;<=>?@[]^`{|}~'.split(''));
  const condition = fc.oneof(
    fc.record({ kind: fc.constant('state-token' as const), negated: fc.boolean(), token }),
    fc.record({
      kind: fc.constant('etag' as const),
      negated: fc.boolean(),
      weak: fc.boolean(),
      opaque: fc.string({ unit: etagChar, maxLength: 12 }).map((s) => `"${s}"`),
    }),
  );
  const conditions = fc.array(condition, { minLength: 1, maxLength: 4 });
  const tag = fc.oneof(
    uriTail.map((t) => `/${t.replace(/[#?]/g, '')}`),
    uriTail.map((t) => `http://dav.test/${t}`),
  );
  const header = fc.oneof(
    fc.array(conditions, { minLength: 1, maxLength: 4 }).map((lists) => lists.map((c) => ({ conditions: c }))),
    fc
      .array(fc.tuple(tag, fc.array(conditions, { minLength: 1, maxLength: 3 })), { minLength: 1, maxLength: 3 })
      .map((tagged) => tagged.flatMap(([t, lists]) => lists.map((c) => ({ resourceTag: t, conditions: c })))),
  );

  it('parses back whatever well-formed header it is given, with any whitespace', () => {
    fc.assert(
      fc.property(header, fc.infiniteStream(ws), (lists, spaces) => {
        const s = () => spaces.next().value as string;
        let text = s();
        let lastTag: string | undefined;
        for (const list of lists) {
          if ('resourceTag' in list && list.resourceTag !== lastTag) {
            text += `<${list.resourceTag}>${s()}`;
            lastTag = list.resourceTag;
          }
          text += `(${s()}`;
          for (const c of list.conditions) {
            const not = c.negated ? `${['Not', 'not', 'NOT'][text.length % 3]} ${s()}` : '';
            text += c.kind === 'state-token' ? `${not}<${c.token}>${s()}` : `${not}[${s()}${c.weak ? 'W/' : ''}${c.opaque}${s()}]${s()}`;
          }
          text += `)${s()}`;
        }
        expect(parseIfHeader(text).lists).toEqual(lists);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but IfHeaderError on arbitrary input', () => {
    const alphabet = fc.constantFrom(...'()<>[]"W/ Not,:\tabc'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: alphabet, maxLength: 40 })), (value) => {
        try {
          parseIfHeader(value);
        } catch (err) {
          expect(err).toBeInstanceOf(IfHeaderError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
