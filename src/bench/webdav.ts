/** WebDAV requests the rows send to the bridge. */
import { expectStatus, type Timed } from './http.js';

export function countResponses(xml: string): number {
  return (xml.match(/<([A-Za-z0-9]+:)?response[\s>]/g) ?? []).length;
}

export async function propfind(base: string, path: string, depth: '0' | '1' = '1'): Promise<Timed & { entries: number }> {
  const res = await expectStatus(`${base}${path}`, { method: 'PROPFIND', headers: { Depth: depth }, keepBody: true }, [207]);
  return { ...res, entries: countResponses(res.body!.toString('utf8')) };
}

export function encodePath(...segments: string[]): string {
  return '/' + segments.map(encodeURIComponent).join('/');
}
