/**
 * Which open of a placeholder node an fd is. Container, group, cdev and iommufd state belongs to an open file
 * (bind once per cdev open, IOAS ids per iommufd open...), but the caller opens placeholders with plain
 * open() and closes them untrapped. The caller is a thread of our own process, so its fd table is ours: we
 * mark each open file by moving its file offset to a unique number the first time we see it. A new open
 * starts at offset 0 and so gets fresh state; a closed one is simply never seen again.
 */
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
