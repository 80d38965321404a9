/**
 * The built-in method table. LOCK and UNLOCK come from the lock module; server.ts drops them when
 * no lock manager is configured (the server is then DAV class 1).
 */
import type { MethodHandler } from '../handler.js';
import { copy, move } from './copy-move.js';
import { del } from './delete.js';
import { get } from './get.js';
import { lock } from './lock.js';
import { mkcol } from './mkcol.js';
import { options } from './options.js';
import { propfind } from './propfind.js';
import { proppatch } from './proppatch.js';
import { put } from './put.js';
import { unlock } from './unlock.js';

export const builtinMethods: Record<string, MethodHandler> = {
  OPTIONS: options,
  PROPFIND: propfind,
  PROPPATCH: proppatch,
  GET: get,
  HEAD: get,
  PUT: put,
  MKCOL: mkcol,
  DELETE: del,
  COPY: copy,
  MOVE: move,
  LOCK: lock,
  UNLOCK: unlock,
};
