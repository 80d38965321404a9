/**
 * The parsed form of a request body: a small namespace-resolved element tree. Prefixes are kept only
 * for diagnostics; every comparison uses (namespace URI, local name), so any prefix and the default
 * namespace work the same (RFC 4918 §17).
 */
export const DAV_NS = 'DAV:';

export interface XmlAttribute {
  ns: string;
  local: string;
  value: string;
}

export interface XmlText {
  kind: 'text';
  text: string;
}

export interface XmlElement {
  kind: 'element';
  /** Namespace URI ('' when none). */
  ns: string;
  local: string;
  attributes: XmlAttribute[];
  children: XmlNode[];
}

export type XmlNode = XmlElement | XmlText;

export function elementChildren(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => c.kind === 'element');
}

export function findChild(el: XmlElement, ns: string, local: string): XmlElement | undefined {
  return elementChildren(el).find((c) => c.ns === ns && c.local === local);
}

export function findChildren(el: XmlElement, ns: string, local: string): XmlElement[] {
  return elementChildren(el).filter((c) => c.ns === ns && c.local === local);
}

export function isDav(el: XmlElement, local: string): boolean {
  return el.ns === DAV_NS && el.local === local;
}

/** Concatenated text content of an element and its descendants. */
export function textContent(el: XmlElement): string {
  return el.children.map((c) => (c.kind === 'text' ? c.text : textContent(c))).join('');
}
