/**
 * Serializes parsed XML back to text so dead property values can be stored and replayed.
 * Output is self-contained: every element declares its own default namespace when it differs from
 * its parent's, and namespaced attributes get generated prefixes, so a fragment stays correct when
 * pasted under any parent (whatever prefixes the client originally used).
 */
import { escapeXml } from './escape.js';
import type { XmlElement, XmlNode } from './tree.js';

/**
 * Inner XML of `el` (its children), for replay inside an element where the default namespace in
 * scope is `defaultNs`. Dead properties are replayed as `<local xmlns="ns">…</local>`, so they use
 * the default (`el.ns`). Content replayed inside a `D:`-prefixed element of our own responses (e.g.
 * a lock's <D:owner>) must pass '' because our documents bind no default namespace.
 */
export function serializeInner(el: XmlElement, defaultNs: string = el.ns): string {
  return el.children.map((c) => serializeNode(c, defaultNs)).join('');
}

export function serializeElement(el: XmlElement, parentDefaultNs: string | undefined): string {
  const attrs: string[] = [];
  if (el.ns !== parentDefaultNs) attrs.push(`xmlns="${escapeXml(el.ns)}"`);
  let n = 0;
  for (const a of el.attributes) {
    if (a.ns === '') {
      attrs.push(`${a.local}="${escapeXml(a.value)}"`);
    } else if (a.ns === 'http://www.w3.org/XML/1998/namespace') {
      attrs.push(`xml:${a.local}="${escapeXml(a.value)}"`);
    } else {
      const prefix = `a${n++}`;
      attrs.push(`xmlns:${prefix}="${escapeXml(a.ns)}"`, `${prefix}:${a.local}="${escapeXml(a.value)}"`);
    }
  }
  const open = attrs.length ? `${el.local} ${attrs.join(' ')}` : el.local;
  if (el.children.length === 0) return `<${open}/>`;
  return `<${open}>${el.children.map((c) => serializeNode(c, el.ns)).join('')}</${el.local}>`;
}

function serializeNode(node: XmlNode, parentDefaultNs: string): string {
  return node.kind === 'text' ? escapeXml(node.text) : serializeElement(node, parentDefaultNs);
}
