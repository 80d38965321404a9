/**
 * Which process of this machine owns a piece of the shared state directory (a spool file, a
 * journal record, a backup lock), and whether that owner is gone. Several processes of one account
 * share the directory (docs/state.md), so start-up clean-ups must only take over what a dead
 * process left, never what a live one is using.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { lockedOwnerState } from './owner-lock.js';

/** Whether a process with this pid runs on this machine (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This machine's host name as 8 hex digits (safe in a file name, the same for every process of the host). */
export function hostTag(host: string = hostname()): string {
  return createHash('sha256').update(host).digest('hex').slice(0, 8);
}

/**
 * Whether what process `pid` of host `tag` owns may be taken over by this process. An owner on
 * another host (a state directory on a shared disk) is never presumed dead. On this host the owner
 * locks decide first (owner-lock.ts): a held lock is a live owner whatever its pid looks like from
 * here (another container's PID namespace), a free one a dead owner, this process's own identity
 * a previous incarnation. An owner without a lock file falls back to pids: this very process's pid
 * (a container restarted with the same pid) or a pid that no longer runs here.
 */
export function ownerGone(pid: number, tag: string, alive: (pid: number) => boolean = processAlive): boolean {
  if (tag !== hostTag()) return false;
  const locked = lockedOwnerState(pid, tag);
  if (locked === 'alive') return false;
  if (locked === 'gone' || locked === 'self') return true;
  return pid === process.pid || !alive(pid);
}
