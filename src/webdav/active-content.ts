/**
 * Headers that keep a stored file from running as a page of the bridge's origin. A file whose
 * type a browser would run (HTML, SVG, XML with a stylesheet) opened from the bridge would run its
 * scripts with the bridge's origin: with the Basic credentials the browser keeps for it, so a user
 * confined to a home could have an administrator open `evil.html` and act as them, and a shared
 * file could read other share pages. `Content-Security-Policy: sandbox` (CSP Level 2, without
 * allow-scripts) gives such a document an opaque origin and no scripts; every file answer also
 * carries `X-Content-Type-Options: nosniff`, so nothing else is read as HTML. Media, PDF and
 * other types are left as they are (a sandbox would stop the browser's own viewers).
 */
const ACTIVE_TYPES = /^\s*(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|text\/xsl|application\/xslt\+xml|application\/[a-z0-9.+-]*\+xml|multipart\/x-mixed-replace)\s*(;|$)/i;

/** The sandbox policy for an active document: no scripts, no plug-ins, an opaque origin. */
export const SANDBOX_POLICY = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'";

/** Whether a browser could run `contentType` as a document with scripts. */
export function isActiveContent(contentType: string | undefined): boolean {
  return contentType !== undefined && ACTIVE_TYPES.test(contentType);
}

/** The headers to add to a stored file's answer (GET or HEAD, any status that carries its bytes). */
export function storedFileHeaders(contentType: string | undefined): Record<string, string> {
  return isActiveContent(contentType) ? { 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': SANDBOX_POLICY } : { 'X-Content-Type-Options': 'nosniff' };
}
