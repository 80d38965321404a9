/**
 * Namespace-aware parsing of request bodies with saxes. Safety rules (clients.md, crash list):
 * - any DOCTYPE is refused before anything in it is looked at, so no entity is ever declared,
 *   let alone expanded (billion laughs, external entities): the body is answered 400;
 * - undeclared entities, unbound prefixes and any well-formedness error: 400;
 * - nesting deeper than MAX_DEPTH: 400 (keeps the recursive walkers far from the stack limit).
 * xml:lang and other attributes are kept on the tree but nothing relies on them.
 */
import { SaxesParser } from 'saxes';
import { HttpError } from '../errors.js';
import type { XmlElement } from './tree.js';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const MAX_DEPTH = 200;

export function parseXml(text: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let failure: string | undefined;
  const fail = (message: string): never => {
    failure ??= message;
    throw new HttpError(400, `Invalid XML body: ${failure}`);
  };

  parser.on('error', (err) => fail(err.message));
  parser.on('doctype', () => fail('DOCTYPE declarations are not accepted'));
  parser.on('opentag', (tag) => {
    if (stack.length >= MAX_DEPTH) fail('elements nested too deeply');
    const el: XmlElement = {
      kind: 'element',
      ns: tag.uri ?? '',
      local: tag.local ?? tag.name,
      attributes: Object.values(tag.attributes)
        .filter((a) => a.uri !== XMLNS_NS && a.name !== 'xmlns')
        .map((a) => ({ ns: a.uri ?? '', local: a.local ?? a.name, value: a.value })),
      children: [],
    };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  const onText = (text: string) => {
    const parent = stack[stack.length - 1];
    if (parent && text.length > 0) parent.children.push({ kind: 'text', text });
  };
  parser.on('text', onText);
  parser.on('cdata', onText);

  try {
    parser.write(text).close();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    fail(err instanceof Error ? err.message : String(err));
  }
  if (failure !== undefined) fail(failure);
  if (!root) fail('no root element');
  return root as XmlElement;
}
