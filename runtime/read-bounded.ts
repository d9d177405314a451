/**
 * Reading a file a person hands us (a known-failures list, a table): only a regular file, and only up to a
 * bound, so `/dev/zero`, a FIFO or a runaway file is refused in one line instead of read until memory runs
 * out. Path failures are VfioErrors of kind `io` (exit 7) naming the path; a file over the bound is `usage`.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { VfioError } from './errors.js';
import { Errno, errnoMeaning, errnoName, errnoOfError } from './sys/index.js';

export function readBoundedFile(path: string, maxBytes: number, what = 'the file'): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const errno = errnoOfError(e);
    const why = errno === Errno.ENOENT ? 'it does not exist' : `${errnoName(errno)} (${errnoMeaning(errno)})`;
    throw new VfioError(`cannot read ${path}: ${why}`, { kind: 'io', op: `open ${path}`, fdKind: 'path', errno });
  }
  try {
    if (!fstatSync(fd).isFile())
      throw new VfioError(`${path} is not a regular file; ${what} must be one`, {
        kind: 'usage',
        op: `read ${path}`,
        fdKind: 'path',
      });
    // Read one byte past the bound: sizes in stat can lie (/proc), the bytes cannot.
    const buf = Buffer.alloc(maxBytes + 1);
    let got = 0;
    for (let n; got < buf.length && (n = readSync(fd, buf, got, buf.length - got, null)) > 0;) got += n;
    if (got > maxBytes)
      throw new VfioError(`${path} is larger than ${maxBytes} bytes; ${what} is never that large`, {
        kind: 'usage',
        op: `read ${path}`,
        fdKind: 'path',
      });
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}
