/**
 * Local state keyed by the NFC form of each path. Empty files, housekeeping files and dead
 * properties are stored under the path a client wrote them at; macOS writes NFD and Windows NFC,
 * so keying by one form lets each find what the other wrote (see docs/names.md).
 */
import type { LocalState } from './local-state.js';
import { nameKey } from './paths.js';

/** Methods of LocalState whose arguments at these positions are drive paths. */
const PATH_ARGUMENTS: Readonly<Record<string, readonly number[]>> = {
  file: [0],
  filesIn: [0],
  putEmpty: [0],
  putSystem: [0],
  removeFile: [0],
  properties: [0],
  propertiesWithin: [0],
  patchProperties: [0],
  moveTree: [0, 1],
  copyTree: [0, 1],
  removeTree: [0],
};

/** `state`, with every path argument normalised to NFC before it is used as a key. */
export function withNormalisedPaths(state: LocalState): LocalState {
  return new Proxy(state, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const positions = typeof property === 'string' ? PATH_ARGUMENTS[property] : undefined;
      if (!positions) return value.bind(target);
      return (...args: unknown[]) => {
        for (const position of positions) {
          const path = args[position];
          if (typeof path === 'string') args[position] = nameKey(path);
        }
        // A move or copy between two spellings of one path (NFD → NFC) is the same key: there is
        // nothing to carry, and clearing the destination first would drop the source.
        if (positions.length === 2 && args[0] === args[1]) return Promise.resolve();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
