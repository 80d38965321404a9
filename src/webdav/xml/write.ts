/**
 * Building blocks of the XML we answer with. The DAV: namespace is always bound to the `D` prefix
 * on the root element; properties of other namespaces are written with a default-namespace
 * declaration on the property element itself, which keeps stored dead-property values (serialized
 * relative to their own element's namespace, see serialize.ts) valid wherever they are replayed.
 */
import { STATUS_CODES } from 'node:http';
import { escapeXml } from './escape.js';
import { DAV_NS } from './tree.js';

export const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n';

export function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
}

/** A property element with the given inner XML ('' → self-closing). */
export function propertyElement(ns: string, local: string, innerXml = ''): string {
  if (ns === DAV_NS) return innerXml === '' ? `<D:${local}/>` : `<D:${local}>${innerXml}</D:${local}>`;
  const decl = `xmlns="${escapeXml(ns)}"`;
  return innerXml === '' ? `<${local} ${decl}/>` : `<${local} ${decl}>${innerXml}</${local}>`;
}

/** `<D:error><D:condition>inner</D:condition></D:error>` as a whole document. */
export function errorDocument(condition: string, innerXml = ''): string {
  const cond = innerXml === '' ? `<D:${condition}/>` : `<D:${condition}>${innerXml}</D:${condition}>`;
  return `${XML_DECLARATION}<D:error xmlns:D="DAV:">${cond}</D:error>`;
}

export function hrefElement(href: string): string {
  return `<D:href>${escapeXml(href)}</D:href>`;
}

/**
 * A dead property replayed from storage: always written with its own default-namespace declaration,
 * because stored values are serialized relative to the property's namespace (serialize.ts).
 */
export function deadPropertyElement(ns: string, local: string, innerXml: string): string {
  const decl = `xmlns="${escapeXml(ns)}"`;
  return innerXml === '' ? `<${local} ${decl}/>` : `<${local} ${decl}>${innerXml}</${local}>`;
}
