/** Reading multistatus answers in tests, namespace-aware (whatever prefixes the server picks). */
import { parseXml } from '../../src/webdav/xml/parse.js';
import { elementChildren, findChild, textContent, type XmlElement } from '../../src/webdav/xml/tree.js';

export interface ParsedResponse {
  href: string;
  /** status code → properties ({ns}local → element) */
  propstats: Map<number, Map<string, XmlElement>>;
  status?: number;
}

export function parseMultistatus(text: string): ParsedResponse[] {
  const root = parseXml(text);
  if (root.ns !== 'DAV:' || root.local !== 'multistatus') throw new Error(`not a multistatus: ${text.slice(0, 200)}`);
  return elementChildren(root).map((response) => {
    const href = textContent(findChild(response, 'DAV:', 'href') as XmlElement);
    const propstats = new Map<number, Map<string, XmlElement>>();
    for (const ps of elementChildren(response).filter((c) => c.local === 'propstat')) {
      const status = statusCode(textContent(findChild(ps, 'DAV:', 'status') as XmlElement));
      const props = new Map<string, XmlElement>();
      for (const p of elementChildren(findChild(ps, 'DAV:', 'prop') as XmlElement)) props.set(`{${p.ns}}${p.local}`, p);
      propstats.set(status, props);
    }
    const statusEl = findChild(response, 'DAV:', 'status');
    return { href, propstats, status: statusEl ? statusCode(textContent(statusEl)) : undefined };
  });
}

function statusCode(line: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(line.trim());
  if (!m) throw new Error(`bad status line ${line}`);
  return Number(m[1]);
}

export function prop(r: ParsedResponse, status: number, key: string): XmlElement | undefined {
  return r.propstats.get(status)?.get(key);
}
