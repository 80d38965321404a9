/** Command line of `npm run bench`: --quick, --only <rows>, --out <file>. */
export const ROW_NAMES = ['propfind', 'get', 'probe', 'put', 'scan', 'load', 'cache', 'media', 'bridges'] as const;
export type RowName = (typeof ROW_NAMES)[number];

/** Row numbers of the issue as aliases: rows 2 and 3 share one file, so both mean "get". */
const ALIASES: Record<string, RowName> = { '1': 'propfind', '2': 'get', '3': 'get', '4': 'probe', '5': 'put', '6': 'scan', '7': 'load', '8': 'bridges', c: 'cache', m: 'media' };

export interface BenchArgs {
  quick: boolean;
  only: RowName[];
  out: string;
  /** `--time-scale`: replaces the time scale of the rows run against time-scaled limits (6, 8). */
  timeScale?: number;
}

export const USAGE = `usage: npm run bench -- [--quick] [--only ${ROW_NAMES.join(',')}] [--out bench/results.json]
  --quick   reduced sizes (under a minute)
  --only    run only these rows (comma separated names, or the row numbers 1-8, C and M);
            rows 2 and 3 (sequential GET and seeks) run together as "get"
  --out     where to write the JSON results (default bench/results.json)
  --time-scale S
            run the rows under the simulator's time-scaled limits (6 scan, 8 bridges) at this
            scale instead of 0.05 (1 = 1fichier's real windows: 30 s per folder listing)`;

export class ArgsError extends Error {}

export function parseArgs(argv: string[]): BenchArgs | 'help' {
  const args: BenchArgs = { quick: false, only: [...ROW_NAMES], out: 'bench/results.json' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') return 'help';
    else if (a === '--quick') args.quick = true;
    else if (a === '--time-scale') {
      const value = Number(argv[++i]);
      if (!(value > 0) || value > 1) throw new ArgsError('--time-scale needs a number in (0, 1]');
      args.timeScale = value;
    }
    else if (a === '--only' || a === '--out') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new ArgsError(`${a} needs a value`);
      if (a === '--out') args.out = value;
      else {
        const names = [...new Set(value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean).map((s) => ALIASES[s] ?? s))];
        const unknown = names.filter((n) => !(ROW_NAMES as readonly string[]).includes(n));
        if (unknown.length || names.length === 0) throw new ArgsError(`unknown row "${unknown.join(', ')}"; rows are ${ROW_NAMES.join(', ')}`);
        args.only = names as RowName[];
      }
    } else throw new ArgsError(`unknown argument "${a}"`);
  }
  return args;
}
