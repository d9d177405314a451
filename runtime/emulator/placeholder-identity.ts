/**
 * Which open of a placeholder node an fd is. Container, group, cdev and iommufd state belongs to an open file
 * (bind once per cdev open, IOAS ids per iommufd open...), but the caller opens placeholders with plain
 * open() and closes them untrapped. The caller is a thread of our own process, so its fd table is ours: we
 * mark each open file by moving its file offset to a unique number the first time we see it. A new open
 * starts at offset 0 and so gets fresh state; a closed one is simply never seen again.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { SEEK_CUR, SEEK_SET } from '../sys/constants.js';
import { lseekOrThrow } from '../sys/libc.js';

let nextIdentity = 1;

export function openFileIdentity(fd: number): number {
  const current = lseekOrThrow(fd, 0, SEEK_CUR);
  if (current !== 0) return current;
  const id = nextIdentity++;
  lseekOrThrow(fd, id, SEEK_SET);
  return id;
}

/**
 * The identities of the open files of `path` that some fd of this process still holds (dups of one open file
 * share its offset, so they count once), read from /proc/self/fdinfo without touching the fds. `closing` is
 * an fd whose close is under way: it no longer counts. Files held only by another process (a child that
 * inherited the fd) are not seen.
 */
export function liveIdentities(path: string, closing?: number): Set<number> {
  const out = new Set<number>();
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd === closing) continue;
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== path) continue;
      const pos = /^pos:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (pos) out.add(Number(pos[1]));
    } catch {
      // closed while we looked
    }
  }
  return out;
}
