/**
 * Maps drive paths onto the paths a media server sees (`/Vidéos` → `/mnt/fichier/Vidéos`): rules
 * `FROM=TO`, optionally restricted to one target with a `jellyfin:`, `plex:` or `webhook:` prefix.
 * The longest matching FROM wins (whole path segments only). A target with no rule at all gets the
 * drive paths unchanged; a target with rules gets only paths under one of them (others are outside
 * its libraries and are not sent).
 */
export type TargetName = 'jellyfin' | 'plex' | 'webhook';
const TARGETS: readonly TargetName[] = ['jellyfin', 'plex', 'webhook'];

export interface PathRule {
  target?: TargetName;
  from: string;
  to: string;
}

/** Parses one rule; throws Error naming the problem and the expected shape. */
export function parsePathRule(raw: string): PathRule {
  let text = raw.trim();
  let target: TargetName | undefined;
  const colon = /^([a-z]+):(?!\/\/)/.exec(text);
  if (colon && (TARGETS as readonly string[]).includes(colon[1]!)) {
    target = colon[1] as TargetName;
    text = text.slice(colon[0].length);
  }
  const equals = text.indexOf('=');
  if (equals < 0) throw new Error(`"${raw}" is not a mapping: write DRIVE_PATH=SERVER_PATH, e.g. /Vidéos=/mnt/fichier/Vidéos (optionally prefixed by jellyfin:, plex: or webhook:)`);
  const from = trimSlash(text.slice(0, equals).trim());
  const to = trimSlash(text.slice(equals + 1).trim());
  if (!from.startsWith('/')) throw new Error(`"${raw}": the drive path must start with / (e.g. /Vidéos=/mnt/fichier/Vidéos)`);
  if (to === '') throw new Error(`"${raw}": the server path is empty`);
  return { ...(target ? { target } : {}), from, to };
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

export class PathMap {
  constructor(private readonly rules: readonly PathRule[]) {}

  /** The server's path for `path` as `target` sees it; undefined when outside every rule of that target. */
  map(target: TargetName, path: string): string | undefined {
    const rules = this.rules.filter((rule) => rule.target === undefined || rule.target === target);
    if (rules.length === 0) return path;
    let best: PathRule | undefined;
    for (const rule of rules) {
      const inside = rule.from === '/' || path === rule.from || path.startsWith(`${rule.from}/`);
      if (inside && (!best || rule.from.length > best.from.length)) best = rule;
    }
    if (!best) return undefined;
    const rest = best.from === '/' ? path.slice(1) : path.slice(best.from.length + 1);
    if (rest === '') return best.to;
    // Windows servers see backslash paths (D:\Media): follow the separator TO uses.
    const separator = /^[A-Za-z]:\\|^\\\\/.test(best.to) ? '\\' : '/';
    const joined = rest.split('/').join(separator);
    return best.to.endsWith(separator) ? best.to + joined : `${best.to}${separator}${joined}`;
  }
}
