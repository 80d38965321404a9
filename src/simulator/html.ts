/** The HTML pages the upload nodes and the download host answer with (French, like the real site). */
import type { ServerResponse } from 'node:http';

const escape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

export function escapeHtml(s: string): string {
  return escape(s);
}

export function page(title: string, inner: string): string {
  return `<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8"><title>${escape(title)}</title></head>\n<body>\n<div class="bloc1">1fichier.com</div>\n${inner}\n</body></html>\n`;
}

/** A refusal page: the message sits in the first non-empty `<div class="bloc2">`, where clients look. */
export function bloc2Page(message: string): string {
  return page('1fichier.com', `<div class="bloc2">${escape(message)}</div>`);
}

export function sendHtml(res: ServerResponse, status: number, html: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
    Server: 'nginx',
    ...extra,
  });
  res.end(html);
}
