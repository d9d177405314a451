/**
 * A file written atomically: the bytes go to a temporary file in the target's folder; commit() fsyncs it,
 * renames it over the target and fsyncs the folder. Until then the target is untouched, so a failed,
 * interrupted or killed save leaves whatever was there, and two saves to one path end with one complete
 * file (the last rename wins).
 *
 * The temporary file is unnamed where the filesystem allows (O_TMPFILE: ext4, xfs, btrfs, tmpfs): it
 * disappears with the process however that ends, SIGKILL included. Elsewhere it is a named dot-file,
 * `.NAME.vfio-uapi-PID-RANDOM.tmp`, removed on failure and at exit; one left by a killed process is
 * removed by the next save to the same path once that process is gone.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fsyncSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  AT_FDCWD,
  AT_SYMLINK_FOLLOW,
  Errno,
  errnoMeaning,
  errnoName,
  errnoOfError,
  lastErrno,
  linkat,
  O_CREAT,
  O_RDONLY,
  O_TMPFILE,
  O_WRONLY,
} from '../sys/index.js';
import { VfioError } from '../errors.js';
import type { Endpoint } from './endpoints.js';
import { processAlive } from '../sys/process.js';

const O_EXCL = 0o200;

/** Named temporary files of this process not yet renamed or removed: removed at exit. */
const pendingNames = new Set<string>();
let exitHookInstalled = false;
function removeAtExit(path: string): void {
  pendingNames.add(path);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of pendingNames) tryUnlink(p);
  });
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

function fail(name: string, errno: number, why?: string): VfioError {
  return new VfioError(`cannot write ${name}: ${why ?? `${errnoName(errno)} (${errnoMeaning(errno)})`}`, {
    kind: 'io',
    op: `write ${name}`,
    fdKind: 'stream',
    errno,
  });
}

/** Where the bytes really go: a symlink is followed (even a dangling one), so the link itself stays. */
function realTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    /* new, or a dangling link */
  }
  try {
    return resolve(dirname(path), readlinkSync(path));
  } catch {
    return resolve(path);
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function tempPrefix(target: string): string {
  return `.${basename(target)}.vfio-uapi-`;
}

/** A new named temporary beside `target`: `.NAME.vfio-uapi-PID-RANDOM.tmp` (sweepStale reads the pid back). */
function tempPath(folder: string, target: string): string {
  return join(folder, `${tempPrefix(target)}${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** Remove named temporaries of this target left by processes that no longer exist. */
function sweepStale(folder: string, target: string): void {
  const prefix = tempPrefix(target);
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) continue;
    const pid = Number(/^(\d+)-[0-9a-f]+\.tmp$/.exec(n.slice(prefix.length))?.[1]);
    if (pid && pid !== process.pid && !processAlive(pid)) tryUnlink(join(folder, n));
  }
}

/**
 * Open an atomic writer for `path` (named `name` in messages). The target must be a regular file or absent.
 * `unnamed: false` skips O_TMPFILE (as on a filesystem without it).
 */
export function openAtomicFile(path: string, name = path, opts: { unnamed?: boolean } = {}): Endpoint {
  const target = realTarget(path);
  const folder = dirname(target);
  const folderStat = statOrNull(folder);
  if (!folderStat) throw fail(name, Errno.ENOENT, `its folder ${folder} does not exist`);
  if (!folderStat.isDirectory()) throw fail(name, Errno.ENOTDIR, `${folder} is not a folder (ENOTDIR)`);
  const existing = statOrNull(target);
  if (existing && !existing.isFile()) throw fail(name, Errno.EEXIST, `${target} is not a regular file`);
  sweepStale(folder, target);

  let fd = -1;
  let tempName: string | null = null;
  const mode = existing ? existing.mode & 0o7777 : 0o644;
  try {
    if (opts.unnamed === false) throw Object.assign(new Error('O_TMPFILE not wanted'), { errno: Errno.EOPNOTSUPP });
    fd = openSync(folder, O_TMPFILE | O_WRONLY, mode);
  } catch (e) {
    const errno = errnoOfError(e);
    // No O_TMPFILE on this filesystem: a named temporary file instead.
    if (errno !== Errno.EOPNOTSUPP && errno !== Errno.EISDIR && errno !== Errno.EINVAL)
      throw fail(
        name,
        errno,
        `cannot create a temporary file in ${folder} to replace it: ${errnoName(errno)} (${errnoMeaning(errno)})`,
      );
    tempName = tempPath(folder, target);
    try {
      fd = openSync(tempName, O_WRONLY | O_CREAT | O_EXCL, mode);
    } catch (e2) {
      const errno2 = errnoOfError(e2);
      throw fail(
        name,
        errno2,
        `cannot create a temporary file in ${folder} to replace it: ${errnoName(errno2)} (${errnoMeaning(errno2)})`,
      );
    }
    removeAtExit(tempName);
  }
  if (existing) {
    // The replacement keeps the old file's permissions (and owner, where we may set it).
    try {
      fchmodSync(fd, mode);
      fchownSync(fd, existing.uid, existing.gid);
    } catch {
      /* not ours to give away: keep our own */
    }
  }

  let state: 'open' | 'committed' | 'closed' = 'open';
  const discard = () => {
    if (fd >= 0) closeSync(fd);
    fd = -1;
    if (tempName) {
      tryUnlink(tempName);
      pendingNames.delete(tempName);
    }
  };
  return {
    get fd() {
      return fd;
    },
    name,
    seekable: true,
    size: 0,
    mode: 'blocking',
    commit() {
      if (state !== 'open') return;
      try {
        fsyncSync(fd);
        if (!tempName) {
          // Give the unnamed file a temporary name beside the target, then rename that over it.
          const named = tempPath(folder, target);
          if (linkat(AT_FDCWD, `/proc/self/fd/${fd}`, AT_FDCWD, named, AT_SYMLINK_FOLLOW) < 0)
            throw Object.assign(new Error('linkat'), { errno: lastErrno() });
          tempName = named;
          removeAtExit(named);
        }
        renameSync(tempName, target);
        pendingNames.delete(tempName);
        tempName = null;
        state = 'committed';
      } catch (e) {
        discard();
        state = 'closed';
        throw fail(name, errnoOfError(e));
      }
      closeSync(fd);
      fd = -1;
      // The rename is durable once the folder is on disk too (some filesystems cannot fsync a folder).
      try {
        const dirFd = openSync(folder, O_RDONLY);
        try {
          fsyncSync(dirFd);
        } finally {
          closeSync(dirFd);
        }
      } catch {
        /* best effort */
      }
    },
    close() {
      if (state === 'open') discard();
      state = state === 'committed' ? 'committed' : 'closed';
    },
  };
}
