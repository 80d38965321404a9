/** Shared hostile inputs and measuring helpers for the robustness, fuzz and soak tests. */

/**
 * Path segments that must never name a resource, sent raw (already percent-encoded where they
 * hold '%'): dot segments, an encoded '/', NUL, broken and overlong UTF-8, a too-long name.
 */
export const BAD_NAMES = ['..', '.', '%', 'a%2Fb', '%00', '%E0%A4%A', '%NETHOOD%', '%zz', '%C0%AF', 'n'.repeat(260)];

/** A billion-laughs entity bomb wrapped in a PROPPATCH body: it must be refused, never expanded. */
export const BILLION_LAUGHS_PROPPATCH = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:p xmlns:x="urn:x">&lol9;</x:p></D:prop></D:set></D:propertyupdate>`;

/** Heap in use after letting collections run (a forced GC when node runs with --expose-gc). */
export async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return process.memoryUsage().heapUsed;
}
