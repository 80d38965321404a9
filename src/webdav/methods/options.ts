/**
 * OPTIONS (RFC 4918 §10.1, §18). Answers for any path without touching the Drive and without auth
 * (Windows sends OPTIONS before credentials; server.ts skips the auth hook for it).
 */
import type { MethodHandler } from '../handler.js';

export const options: MethodHandler = async (ctx) => {
  ctx.send(200, {
    DAV: ctx.settings.locking ? '1, 2' : '1',
    Allow: ctx.settings.allow,
    'MS-Author-Via': 'DAV',
    'Accept-Ranges': 'bytes',
  });
};
