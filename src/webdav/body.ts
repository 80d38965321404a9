/**
 * Reading request bodies of the XML methods under a cap. The cap is enforced by counting the bytes
 * that actually arrive: Content-Length is only used to refuse early, never to allocate (a client
 * announcing 10 GB on PROPFIND must not make us reserve anything).
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors.js';
import { parseXml } from './xml/parse.js';
import type { XmlElement } from './xml/tree.js';

const tooLarge = (limit: number) =>
  new HttpError(413, `Request body larger than ${limit} bytes`, { headers: { Connection: 'close' } });

/** Content-Length when present and valid; undefined when absent; 400 when malformed. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new HttpError(400, 'Invalid Content-Length');
  return Number(raw);
}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) throw tooLarge(limit);
  // Listeners rather than `for await`: leaving an async iterator early destroys the socket, and the
  // client would see a reset instead of our 413.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        cleanup();
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as an XML tree; undefined when the body is empty. */
export async function readXmlBody(req: IncomingMessage, limit: number): Promise<XmlElement | undefined> {
  const body = await readBody(req, limit);
  if (body.length === 0 || body.toString('latin1').trim() === '') return undefined;
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new HttpError(400, 'Request body is not valid UTF-8');
  }
  return parseXml(text.replace(/^\uFEFF/, ''));
}
