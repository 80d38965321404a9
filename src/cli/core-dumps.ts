/**
 * A core dump of the bridge holds its memory, and so the 1fichier API key (and the Basic
 * passwords given on the command line or in the environment): a crash must not leave them in a
 * file that other tools collect, keep and upload. `serve` therefore sets its own core-file size
 * limit (RLIMIT_CORE) to 0, soft and hard, as soon as it starts: the kernel then writes no core
 * file, and systemd-coredump and apport skip the process as well.
 *
 * Node has no setrlimit; util-linux's `prlimit` (on every Linux system) sets the limit of a
 * running process by its pid, so no native code is needed. Where it is missing (macOS, Windows,
 * minimal containers) the caller logs how to do the same from outside: `LimitCORE=0` in a systemd
 * unit, `ulimit -c 0` in a shell, `--ulimit core=0` for Docker.
 */
import { spawnSync } from 'node:child_process';

export type CoreDumpOutcome = { disabled: true } | { disabled: false; reason: string };

/** Sets this process's RLIMIT_CORE to 0:0 (Linux). Never throws. */
export function disableCoreDumps(pid: number = process.pid): CoreDumpOutcome {
  if (process.platform !== 'linux') return { disabled: false, reason: `not done on ${process.platform}` };
  const result = spawnSync('prlimit', ['--pid', String(pid), '--core=0:0'], { encoding: 'utf8', timeout: 5_000 });
  if (result.error) return { disabled: false, reason: `prlimit could not run (${(result.error as NodeJS.ErrnoException).code ?? result.error.message})` };
  if (result.status !== 0) return { disabled: false, reason: `prlimit failed: ${result.stderr.trim() || `exit ${result.status}`}` };
  return { disabled: true };
}
