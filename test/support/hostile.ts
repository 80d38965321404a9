/** Shared hostile inputs and measuring helpers for the robustness, fuzz and soak tests. */
import v8 from 'node:v8';
import vm from 'node:vm';

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

/**
 * Heap in use after full collections. The collector is exposed at run time (`--expose-gc` set
 * through V8's flags, then `gc` taken from a fresh context) because vitest's forks run without the
 * flag: without a forced collection heapUsed counts garbage and varies by tens of MB between
 * identical rounds, which hides a real leak and fails a flat one.
 */
export async function settledHeap(): Promise<number> {
  const gc = forcedCollector();
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return process.memoryUsage().heapUsed;
}

let collector: (() => void) | undefined;
function forcedCollector(): () => void {
  if (!collector) {
    v8.setFlagsFromString('--expose-gc');
    collector = vm.runInNewContext('gc') as () => void;
  }
  return collector;
}
