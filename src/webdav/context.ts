/** Builds the `RequestContext` (handler.ts) for one request. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DriveError, type Drive } from '../drive/types.js';
import { parseDestination } from './destination.js';
import { HttpError } from './errors.js';
import type { Logger, RequestContext, WebDavSettings } from './handler.js';
import type { LockManagerPort, WriteTarget } from './locking.js';
import { encodeHref, type DecodedPath } from './paths.js';
import { fromHome, inHome } from './auth/permissions.js';
import type { XmlElement } from './xml/tree.js';
import { XML_DECLARATION } from './xml/write.js';

export interface ContextInput {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  decoded: DecodedPath;
  drive: Drive;
  locks: LockManagerPort | undefined;
  settings: WebDavSettings;
  logger: Logger;
  /** The authenticated user, undefined without authentication. */
  principal: string | undefined;
  /** The drive folder that is this user's `/` ('/' = the whole account). */
  home?: string;
  /** What the user may do (permissions.ts); undefined = everything. */
  permissions?: ReadonlySet<string>;
  readBody(): Promise<Buffer>;
  readXml(): Promise<XmlElement | undefined>;
}

export function createContext(input: ContextInput): RequestContext {
  const { req, res, drive, locks, settings } = input;
  const abort = new AbortController();
  // Several parties watch one response's 'close' (this context, the request observer, the
  // shutdown tracker, each pipeline()): more than Node's default 10 is normal here, not a leak.
  res.setMaxListeners(Math.max(res.getMaxListeners(), 32));
  res.on('close', () => {
    if (!res.writableFinished) abort.abort(new Error('client disconnected'));
  });

  const header = (name: string): string | undefined => {
    const value = req.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  };

  // Every path the client names (Request-URI, Destination, If tags) is read as below the user's
  // home; decodePath already refused '..' above the client's root, so nothing outside is named.
  const home = input.home ?? '/';
  const path = inHome(home, input.decoded.path);
  const resolveHref = (uri: string): string | undefined => {
    try {
      return inHome(home, parseDestination(uri, header('host'), settings.mountPrefix).path);
    } catch {
      return undefined;
    }
  };
  // A drive path as the client sees it; a lock rooted above the home shows as the client's root.
  const href = (drivePath: string, collection: boolean): string => {
    const visible = fromHome(home, drivePath);
    return visible === undefined ? encodeHref('/', true, settings.mountPrefix) : encodeHref(visible, collection, settings.mountPrefix);
  };

  const etagOf = async (path: string): Promise<string | undefined> => {
    try {
      return `"${(await drive.stat(path)).etag}"`;
    } catch (error) {
      if (error instanceof DriveError && error.code === 'not-found') return undefined;
      throw error;
    }
  };

  const send = (status: number, headers: Record<string, string | number> = {}, body?: string | Buffer): void => {
    const length = body === undefined ? 0 : Buffer.byteLength(body);
    res.writeHead(status, { ...headers, 'Content-Length': length });
    if (body === undefined || input.method === 'HEAD') res.end();
    else res.end(body);
  };

  return {
    req,
    res,
    method: input.method,
    path,
    home,
    trailingSlash: input.decoded.trailingSlash,
    drive,
    locks,
    settings,
    logger: input.logger,
    signal: abort.signal,
    principal: input.principal,
    allows: (permission) => input.permissions === undefined || input.permissions.has(permission),
    header,
    href,
    resolveHref,
    destination: () => inHome(home, parseDestination(header('destination'), header('host'), settings.mountPrefix).path),
    readBody: input.readBody,
    readXml: input.readXml,
    async checkPreconditions(targets: WriteTarget[]): Promise<void> {
      if (!locks) return;
      const result = await locks.checkPreconditions({
        ifHeader: header('if'),
        targets,
        env: { requestPath: path, etagOf, resolveHref },
        principal: input.principal,
      });
      if (result.ok) return;
      if (result.status === 423) {
        throw new HttpError(423, result.message ?? 'Locked', {
          condition: 'lock-token-submitted',
          conditionXml: `<D:href>${href(result.lockRoot, false)}</D:href>`,
        });
      }
      throw new HttpError(result.status, result.message ?? (result.status === 412 ? 'Precondition failed' : 'Bad If header'));
    },
    send,
    sendXml(status, xml, headers = {}) {
      send(status, { ...headers, 'Content-Type': 'application/xml; charset=utf-8' }, XML_DECLARATION + xml);
    },
  };
}
