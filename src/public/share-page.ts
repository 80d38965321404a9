/**
 * The HTML of share links: the page of a shared file (name, size, a download button, and a
 * <video>/<audio> preview when the browser says it can play the type), the index of a shared
 * folder, the password form and the "no longer available" page. Plain HTML, no external
 * resource; the one inline script carries a per-response CSP nonce.
 */
import { escapeXml as escape } from '../webdav/xml/escape.js';

export interface Page {
  html: string;
  /** Value of Content-Security-Policy for this page. */
  csp: string;
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem;word-break:break-all}.size{color:#666}
a.button,button{display:inline-block;padding:.6rem 1.2rem;background:#1a5fb4;color:#fff;border:0;border-radius:.3rem;text-decoration:none;font-size:1rem}
video,audio{display:block;width:100%;margin:1rem 0}td{padding:.2rem .8rem .2rem 0}`;

function page(title: string, body: string, nonce?: string): Page {
  const csp = `default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'${nonce ? `; script-src 'nonce-${nonce}'` : ''}`;
  return {
    csp,
    html: `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>${escape(title)}</title><style>${STYLE}</style></head><body>\n${body}\n</body></html>\n`,
  };
}

/** "1.5 MB" style sizes (SI units, as browsers show downloads). */
export function humanSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * The page of one shared file. `fileHref` is relative to the page (works behind a path prefix).
 * A preview element is written for audio/* and video/* types; the script removes it when
 * `canPlayType` says the browser cannot play that type.
 */
export function filePage(input: { name: string; size: number; contentType?: string; fileHref: string; expiresAt?: number; nonce: string }): Page {
  const type = input.contentType ?? 'application/octet-stream';
  const media = type.startsWith('video/') ? 'video' : type.startsWith('audio/') ? 'audio' : undefined;
  const preview = media
    ? `<${media} id="preview" controls preload="metadata" src="${escape(input.fileHref)}" data-type="${escape(type)}"></${media}>
<script nonce="${input.nonce}">(function(){var m=document.getElementById('preview');if(m&&!m.canPlayType(m.dataset.type))m.remove();})();</script>`
    : '';
  const expiry = input.expiresAt ? `<p class="size">Available until ${escape(new Date(input.expiresAt).toUTCString())}</p>` : '';
  return page(
    input.name,
    `<h1 id="name">${escape(input.name)}</h1>
<p class="size" id="size">${escape(humanSize(input.size))} (${input.size} bytes)</p>
${preview}
<p><a class="button" id="download" href="${escape(input.fileHref)}?download=1" download="${escape(input.name)}">Download</a></p>
${expiry}`,
    media ? input.nonce : undefined,
  );
}

/** The index of a shared folder: its files, each with its own link (relative hrefs). */
export function folderPage(input: { name: string; files: Array<{ name: string; size: number; href: string }> }): Page {
  const rows = input.files.map((f) => `<tr><td><a href="${escape(f.href)}">${escape(f.name)}</a></td><td class="size">${escape(humanSize(f.size))}</td></tr>`).join('\n');
  return page(input.name, `<h1 id="name">${escape(input.name)}</h1>\n<table>\n${rows || '<tr><td>(no files)</td></tr>'}\n</table>`);
}

/** `wrong`: the last try was wrong; `waitSeconds`: too many tries, the next is refused for that long. */
export function passwordPage(input: { action: string; wrong: boolean; waitSeconds?: number }): Page {
  const alert =
    input.waitSeconds !== undefined
      ? `<p role="alert">Too many wrong passwords; try again in ${input.waitSeconds} s.</p>`
      : input.wrong
        ? '<p role="alert">Wrong password.</p>'
        : '';
  return page(
    'Password required',
    `<h1>This link is protected by a password</h1>
${alert}
<form method="post" action="${escape(input.action)}"><input type="password" name="password" autofocus required aria-label="Password"> <button type="submit">Open</button></form>`,
  );
}

export function gonePage(reason: string): Page {
  return page('Link unavailable', `<h1>This link is no longer available</h1>\n<p>${escape(reason)}</p>`);
}
