import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/webdav/errors.js';
import { parseXml } from '../../src/webdav/xml/parse.js';
import { serializeElement, serializeInner } from '../../src/webdav/xml/serialize.js';
import { elementChildren } from '../../src/webdav/xml/tree.js';

describe('parseXml', () => {
  it('resolves prefixes and default namespaces to URIs', () => {
    const root = parseXml(`<a:x xmlns:a="urn:a" xmlns="urn:d"><y/><a:z b:attr="1" plain="2" xmlns:b="urn:b"/></a:x>`);
    expect([root.ns, root.local]).toEqual(['urn:a', 'x']);
    const [y, z] = elementChildren(root);
    expect([y.ns, y.local]).toEqual(['urn:d', 'y']);
    expect(z.attributes).toEqual([
      { ns: 'urn:b', local: 'attr', value: '1' },
      { ns: '', local: 'plain', value: '2' },
    ]);
  });

  it.each([
    '<!DOCTYPE x><x/>',
    '<!DOCTYPE x [<!ENTITY e "v">]><x>&e;</x>',
    '<x>&undeclared;</x>',
    '<x><y></x>',
    '<p:x/>',
    '',
  ])('refuses %j with 400', (text) => {
    expect(() => parseXml(text)).toThrow(HttpError);
  });

  it('keeps the predefined entities and character references', () => {
    const root = parseXml('<x>&lt;&amp;&#233;&#x1F600;</x>');
    expect(root.children).toEqual([{ kind: 'text', text: '<&é😀' }]);
  });
});

describe('serialize', () => {
  it('serialized inner XML is self-contained and re-parses to the same names', () => {
    const root = parseXml(`<p:prop xmlns:p="urn:p"><p:a q:at="v" xmlns:q="urn:q">t&amp;</p:a><b xmlns="urn:other"><p:c/></b></p:prop>`);
    const inner = serializeInner(root);
    expect(inner).toBe('<a xmlns:a0="urn:q" a0:at="v">t&amp;</a><b xmlns="urn:other"><c xmlns="urn:p"/></b>');
    const again = parseXml(`<prop xmlns="urn:p">${inner}</prop>`);
    expect(again).toEqual(root);
    const standalone = parseXml(serializeElement(elementChildren(root)[1], undefined));
    expect([standalone.ns, elementChildren(standalone)[0].ns]).toEqual(['urn:other', 'urn:p']);
  });
});

describe('escapeXml', () => {
  it('escapes markup and replaces characters XML 1.0 cannot carry', async () => {
    const { escapeXml } = await import('../../src/webdav/xml/escape.js');
    expect(escapeXml(`a<b>&"'`)).toBe('a&lt;b&gt;&amp;&quot;&apos;');
    expect(escapeXml('x\u0001y\u0000z\tok\n')).toBe('x\uFFFDy\uFFFDz\tok\n');
    expect(escapeXml('😀 \uD800 \uDC00')).toBe('😀 \uFFFD \uFFFD');
    expect(() => parseXml(`<x>${escapeXml('bad\u0002name \uDBFF')}</x>`)).not.toThrow();
  });
});
