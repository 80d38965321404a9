import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeName, decodeNameBytes, Enc, encodeName, NameCodec } from '../../src/fichier/names.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('fichier name codec (rclone-compatible)', () => {
  it('maps the reserved characters to full-width look-alikes and back', () => {
    const cases: Array<[string, string]> = [
      ['a\\b', 'a＼b'],
      ['<x>', '＜x＞'],
      ['say "hi"', 'say ＂hi＂'],
      ["l'été", 'l＇été'],
      ['`cmd`', '｀cmd｀'],
      ['$HOME', '＄HOME'],
      ['a/b', 'a／b'],
      ['tab\there', 'tab␉here'],
      ['nul\0', 'nul␀'],
      ['del\x7f', 'del␡'],
      [' lead', '␠lead'],
      ['trail ', 'trail␠'],
      [' both ', '␠both␠'],
      ['  two  ', '␠ two ␠'],
      [' ', '␠'],
      ['  ', '␠␠'],
      ['.', '．'],
      ['..', '．．'],
      ['...', '...'],
      ['. .', '. .'],
      ['plain name.mkv', 'plain name.mkv'],
      ['', ''],
    ];
    for (const [raw, stored] of cases) {
      expect(encodeName(raw), JSON.stringify(raw)).toBe(stored);
      expect(decodeName(stored), JSON.stringify(stored)).toBe(raw);
    }
  });

  it('escapes look-alikes already in a name with ‛ (U+201B), as rclone does', () => {
    const cases: Array<[string, string]> = [
      ['a＂b', 'a‛＂b'],
      ['＼', '‛＼'],
      ['‛', '‛‛'],
      ['␀', '‛␀'],
      ['␉', '‛␉'],
      ['␡', '‛␡'],
      ['␠x', '‛␠x'],
      ['x␠', 'x‛␠'],
      ['．', '‛．'],
      ['．．', '‛．‛．'],
      ['a␠b', 'a␠b'], // only at the ends
    ];
    for (const [raw, stored] of cases) {
      expect(encodeName(raw), JSON.stringify(raw)).toBe(stored);
      expect(decodeName(stored), JSON.stringify(stored)).toBe(raw);
    }
  });

  it('encodes invalid UTF-8 bytes as ‛ + hex', () => {
    expect(encodeName(bytes(0xbf))).toBe('‛BF');
    expect(encodeName(bytes(0x61, 0xbf, 0xfe, 0x62))).toBe('a‛BF‛FEb');
    expect(Array.from(decodeNameBytes('a‛BF‛FEb'))).toEqual([0x61, 0xbf, 0xfe, 0x62]);
    // a truncated sequence is two invalid bytes
    expect(encodeName(bytes(0xe2, 0x82))).toBe('‛E2‛82');
    // a literal U+FFFD is valid text and stays as it is
    expect(encodeName('a\uFFFDb')).toBe('a\uFFFDb');
  });

  it('round-trips "‛ " where rclone\'s own decoder would not (documented difference)', () => {
    expect(encodeName('‛ ')).toBe('‛‛␠');
    expect(decodeName('‛‛␠')).toBe('‛ ');
    expect(encodeName('‛␠')).toBe('‛‛‛␠');
    expect(decodeName('‛‛‛␠')).toBe('‛␠');
  });

  it('matches rclone lib/encoder test tables (TestEncodeInvalidUnicode, TestEncodeDot, TestDecodeHalf)', () => {
    const invalid: Array<[number, number[], string]> = [
      [Enc.InvalidUtf8, [0xbf], '‛BF'],
      [Enc.InvalidUtf8, [0xbf, 0xfe], '‛BF‛FE'],
      [Enc.InvalidUtf8, [0x61, 0xbf, 0xfe, 0x62], 'a‛BF‛FEb'],
      [Enc.InvalidUtf8, [0x61, 0xbf, 0xce, 0xbe, 0xfe, 0x62], 'a‛BFξ‛FEb'],
      [Enc.InvalidUtf8 | Enc.BackSlash, [0x61, 0xbf, 0x5c, 0xfe, 0x62], 'a‛BF＼‛FEb'],
    ];
    for (const [mask, raw, out] of invalid) {
      const c = new NameCodec(mask);
      expect(c.encode(Uint8Array.from(raw))).toBe(out);
      expect(Array.from(c.decodeBytes(out))).toEqual(raw);
    }
    const dot = new NameCodec(Enc.Dot);
    expect(dot.encode('.')).toBe('．');
    expect(dot.encode('..')).toBe('．．');
    expect(dot.encode('...')).toBe('...');
    expect(dot.encode('. .')).toBe('. .');
    expect(new NameCodec(Enc.Zero).encode('.')).toBe('.');
    // TestDecodeHalf
    expect(new NameCodec(0).decode('‛')).toBe('‛');
    expect(new NameCodec(Enc.Zero).decode('‛‛')).toBe('‛');
    expect(new NameCodec(0).decode('‛a‛')).toBe('‛a‛');
    expect(new NameCodec(Enc.InvalidUtf8).decode('a‛B‛Eg')).toBe('a‛B‛Eg');
    expect(new NameCodec(Enc.InvalidUtf8).decode('a‛B＼‛Eg')).toBe('a‛B＼‛Eg');
    expect(new NameCodec(Enc.InvalidUtf8 | Enc.BackSlash).decode('a‛B＼‛Eg')).toBe('a‛B\\‛Eg');
  });

  it('matches rclone testCasesSingle (lib/encoder/encoder_cases_test.go)', () => {
    const cases: Array<[number, string, string]> = [
      [Enc.Zero, '␆2π\rｊ８␙aｗ␡k\x05\x19β\x00σ\x15τ７␗\x01R:␀τ␍β7７␊', '␆2π\rｊ８␙aｗ␡k\x05\x19β␀σ\x15τ７␗\x01R:‛␀τ␍β7７␊'],
      [Enc.Slash, '＊␟VＪｇ␚Ｋ$/+\x00／φ␌/π>\x16ρRα/ζ␇＜VLν＞ｑ', '＊␟VＪｇ␚Ｋ$／+␀‛／φ␌／π>\x16ρRα／ζ␇＜VLν＞ｑ'],
      [Enc.SingleQuote, "γ␇＇Ｐｎ\x06χ\x1eε␟[υ'］］ζM2ω␒␅$?ＡＮ＂^''\x02", 'γ␇‛＇Ｐｎ\x06χ\x1eε␟[υ＇］］ζM2ω␒␅$?ＡＮ＂^＇＇\x02'],
      [Enc.BackQuote, '\x07␕θWfｃＲ␅(［｀|Ｖ６τη%＊\tmυ\x15␚\r＼βw｛`ρ', '\x07␕θWfｃＲ␅(［‛｀|Ｖ６τη%＊\tmυ\x15␚\r＼βw｛｀ρ'],
      [Enc.LtGt, '４␁>ｏ\x10\x1fＰι,␋Pυ\b＜?␍！９tπ＞<␞\x00(ης：oε', '４␁＞ｏ\x10\x1fＰι,␋Pυ\b‛＜?␍！９tπ‛＞＜␞␀(ης：oε'],
      [Enc.SquareBracket, '␉␊*ενm\x1bρ[M+τ\v\x05\nνw＾］␄␔ｑ．ψＩ0Ｘ␎［]', '␉␊*ενm\x1bρ［M+τ\v\x05\nνw＾‛］␄␔ｑ．ψＩ0Ｘ␎‛［］'],
      [Enc.Dollar, "Rφ\x10'\r%ςY｜ψ＞ｌ%＄ｙｓｏ\x1f;$ς［ξ␟␚\x11#␗ι␃", "Rφ\x10'\r%ςY｜ψ＞ｌ%‛＄ｙｓｏ\x1f;＄ς［ξ␟␚\x11#␗ι␃"],
      [Enc.DoubleQuote, '?";Ｘτ*␍^εE＂π\x11＆＃＄／＆ψ␖ι～␌\x16~?\x14θ␆R', '?＂;Ｘτ*␍^εE‛＂π\x11＆＃＄／＆ψ␖ι～␌\x16~?\x14θ␆R'],
      [Enc.Colon, "ωQ＝λ␏γ␟：｀ε／#Ｒ:!%␀\x02:Ｙ*８#'π＞ν\x11␓=", "ωQ＝λ␏γ␟‛：｀ε／#Ｒ：!%‛␀\x02：Ｙ*８#'π＞ν\x11␓="],
      [Enc.Question, "χ＼ρ\x19\x19Ｅ\x01\x1bＣ␒\x13３sος＞７␜νk!π？␍o［?MＷ'", "χ＼ρ\x19\x19Ｅ\x01\x1bＣ␒\x13３sος＞７␜νk!π‛？␍o［？MＷ'"],
      [Enc.Asterisk, '>\x0e\x1f～*␕`Ｑ＋δω＃R＇＊OζＩs␍*／/?％μτC␄φ', '>\x0e\x1f～＊␕`Ｑ＋δω＃R＇‛＊OζＩs␍＊／/?％μτC␄φ'],
      [Enc.Pipe, 'Q］Ｊａｌ｜Vz\x11␛％\x0e\n|％χκ][␅ι\x06＜␁ν?#βλＵ', 'Q］Ｊａｌ‛｜Vz\x11␛％\x0e\n｜％χκ][␅ι\x06＜␁ν?#βλＵ'],
      [Enc.Hash, "W=\x03ｘξβ␓'mａε␍#＄'＃␄␙f\x19\x0e␟Yｈｚτ]δτｋ", "W=\x03ｘξβ␓'mａε␍＃＄'‛＃␄␙f\x19\x0e␟Yｈｚτ]δτｋ"],
      [Enc.Percent, '\n\x10␚␖Ｘ/␍ｋp＊λ[:\x17θｔg\x07％ｋρ;%υο：Oξ␒␎', '\n\x10␚␖Ｘ/␍ｋp＊λ[:\x17θｔg\x07‛％ｋρ;％υο：Oξ␒␎'],
      [Enc.BackSlash, '\x02␒␍＞μ$φ\\\x03␟ｉδ\t\x1d＄ο＄χ\x03xI）\x0fyＧ＼！ςt９', '\x02␒␍＞μ$φ＼\x03␟ｉδ\t\x1d＄ο＄χ\x03xI）\x0fyＧ‛＼！ςt９'],
      [Enc.CrLf, 'λ２θNY:Ｈ␊\r］␂\x13ｂ\x15␎h\f␍@ε\r␆␋μQＰ\nξ␙φ', 'λ２θNY:Ｈ‛␊␍］␂\x13ｂ\x15␎h\f‛␍@ε␍␆␋μQＰ␊ξ␙φ'],
      [Enc.Del, 'θ？␄＜μ7π\x1a＼␡2"x\u007fο\x16ｚ%ο?␐ｗ＃␟ξa\tOＸ＇', 'θ？␄＜μ7π\x1a＼‛␡2"x␡ο\x16ｚ%ο?␐ｗ＃␟ξa\tOＸ＇'],
      [
        Enc.Ctl,
        '\x1f␝␚ν\b\x16＊\x05\x1b\x06\b␉\r\x02\x07μ\x17␋␄/ω５␓δ\x0e\x1d␈IY\v␗\x14>３␔␊␍\t\x07␕␁\x13\x18\x1e␞␎F␂\x03\x1a␙\x19χ！␌␑\x12␐␏␘␔\x11␅␌\x0f␖\x04\x1c\x10␜0␛\x01X␓\f\u007f␋␆␍\x15ｇ␇␟π＊]\n␃*␒？V',
        '␟‛␝‛␚ν␈␖＊␅␛␆␈‛␉␍␂␇μ␗‛␋‛␄/ω５‛␓δ␎␝‛␈IY␋‛␗␔>３‛␔‛␊‛␍␉␇‛␕‛␁␓␘␞‛␞‛␎F‛␂␃␚‛␙␙χ！‛␌‛␑␒‛␐‛␏‛␘‛␔␑‛␅‛␌␏‛␖␄␜␐‛␜0‛␛␁X‛␓␌\u007f‛␋‛␆‛␍␕ｇ‛␇‛␟π＊]␊‛␃*‛␒？V',
      ],
      // testCasesSingleEdge
      [Enc.LeftSpace, ' ', '␠'],
      [Enc.Zero | Enc.LeftSpace, ' ␠]［␂\x1dＺ^；Ｊ ␘γ\nηtρ\n-D␆ηc３X\r␍\t␓ι', '␠␠]［␂\x1dＺ^；Ｊ ␘γ\nηtρ\n-D␆ηc３X\r␍\t␓ι'],
      [Enc.Zero | Enc.LeftSpace, '␠␠]［␂\x1dＺ^；Ｊ ␘γ\nηtρ\n-D␆ηc３X\r␍\t␓ι', '‛␠␠]［␂\x1dＺ^；Ｊ ␘γ\nηtρ\n-D␆ηc３X\r␍\t␓ι'],
      [Enc.Slash | Enc.LeftSpace, '␠ψ[＂\x11ａ(\x10|␘ C＄４=␊␌％αs␂$ννρＤ\x19＆Ｄ␠', '‛␠ψ[＂\x11ａ(\x10|␘ C＄４=␊␌％αs␂$ννρＤ\x19＆Ｄ␠'],
      [Enc.SingleQuote | Enc.LeftSpace, ' "εμ*＞τ␎nD λｈμ␍␚6S␅␍Ｑ/Cｌｚ␐\x14ο␠9', '␠"εμ*＞τ␎nD λｈμ␍␚6S␅␍Ｑ/Cｌｚ␐\x14ο␠9'],
      [Enc.BackQuote | Enc.LeftSpace, '"\x19␐ｅ\x1b\x01o\rC＊ ␖ｓρW\x10M［πμ␍＄＇Ｕτ＂␂κ\r ', '"\x19␐ｅ\x1b\x01o\rC＊ ␖ｓρW\x10M［πμ␍＄＇Ｕτ＂␂κ\r '],
    ];
    for (const [mask, raw, out] of cases) {
      const c = new NameCodec(mask);
      expect(c.encode(raw), `mask ${mask} ${JSON.stringify(raw)}`).toBe(out);
      expect(c.decode(out), `mask ${mask} ${JSON.stringify(out)}`).toBe(raw);
    }
  });

  // Characters that matter to the codec, so generated names hit the edge cases often.
  const tricky = fc.constantFrom(
    ' ', '.', '‛', '␠', '␀', '␉', '␡', '＂', '＼', '／', '．', '"', '\\', '/', '<', '>', "'", '`', '$', '\0', '\t', '\n', '\x7f',
    'A', 'F', '0', '9', 'é', '😀', '\uFFFD', '\uD800', '\uDC00',
  );
  const trickyString = fc.array(fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 12 }).map((a) => a.join(''));

  it('round-trips every string (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), trickyString), (s) => {
        expect(decodeName(encodeName(s))).toBe(s);
      }),
      { numRuns: 3000 },
    );
  });

  it('round-trips every byte sequence (property)', () => {
    const trickyBytes = fc.array(
      fc.oneof(
        fc.uint8Array({ maxLength: 4 }),
        tricky.map((s) => Buffer.from(s)),
        fc.constantFrom(Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xc0, 0x80), Uint8Array.of(0xf4, 0x90, 0x80, 0x80)),
      ),
      { maxLength: 10 },
    ).map((parts) => Uint8Array.from(parts.flatMap((p) => Array.from(p))));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), trickyBytes), (b) => {
        expect(Array.from(decodeNameBytes(encodeName(b)))).toEqual(Array.from(b));
      }),
      { numRuns: 3000 },
    );
  });

  it('stored names never contain the characters 1fichier rejects', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), trickyString), (s) => {
        const stored = encodeName(s);
        expect(stored).not.toMatch(/[\\<>"'$`/\x00-\x1f\x7f]/);
        expect(stored.startsWith(' ')).toBe(false);
        expect(stored.endsWith(' ')).toBe(false);
        expect(stored === '.' || stored === '..').toBe(false);
        expect(/[\uD800-\uDFFF]/u.test(stored)).toBe(false); // no lone surrogate: valid for JSON and UTF-8
      }),
      { numRuns: 2000 },
    );
  });
});
