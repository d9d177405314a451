/**
 * The other side of a stream: a file, a pipe, stdin/stdout (`-`), or an inherited fd (`fd:N`, e.g. one end
 * of a socketpair handed to a child process). Bulk data goes through raw fds, never Node streams.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { errnoName } from '../sys/index.js';
import { VfioError } from '../errors.js';

export interface Endpoint {
  fd: number;
  /** What the user named, for messages. */
  name: string;
  /** A regular file: its size can be checked (and its trailer read) before loading. */
  seekable: boolean;
  size: number;
  close(): void;
}

function describe(e: unknown): { errno: number; name: string } {
  const err = e as NodeJS.ErrnoException;
  const errno = -(err.errno ?? -5);
  return { errno, name: err.code ?? errnoName(errno) };
}

function endpointOfFd(fd: number, name: string, owned: boolean): Endpoint {
  let seekable = false;
  let size = 0;
  try {
    const st = fstatSync(fd);
    seekable = st.isFile();
    size = st.size;
  } catch (e) {
    const d = describe(e);
    throw new VfioError(`${name} is not an open file descriptor (${d.name})`, {
      kind: 'io',
      op: `fstat ${name}`,
      fdKind: 'stream',
      errno: d.errno,
    });
  }
  return { fd, name, seekable, size, close: () => owned && closeSync(fd) };
}

function inheritedFd(spec: string): number | null {
  if (spec === '-') return null;
  const m = /^fd:(\d+)$/.exec(spec);
  return m ? Number(m[1]) : null;
}

/** Open where a saved stream goes: `-` (stdout), `fd:N`, or a file path (created or truncated). */
export function openSink(spec: string): Endpoint {
  if (spec === '-') return endpointOfFd(1, 'stdout', false);
  const fd = inheritedFd(spec);
  if (fd !== null) return endpointOfFd(fd, spec, true);
  try {
    return endpointOfFd(openSync(spec, 'w', 0o644), spec, true);
  } catch (e) {
    const d = describe(e);
    const why =
      d.name === 'ENOENT'
        ? 'its directory does not exist'
        : d.name === 'EACCES'
          ? 'permission denied'
          : d.name === 'EISDIR'
            ? 'it is a directory'
            : d.name;
    throw new VfioError(`cannot write ${spec}: ${why}`, {
      kind: 'io',
      op: `open ${spec}`,
      fdKind: 'stream',
      errno: d.errno,
    });
  }
}

/** Open where a saved stream comes from: `-` (stdin), `fd:N`, or a file path. */
export function openSource(spec: string): Endpoint {
  if (spec === '-') return endpointOfFd(0, 'stdin', false);
  const fd = inheritedFd(spec);
  // An inherited fd belongs to whoever passed it; we only read it (and the process exit closes it).
  if (fd !== null) return endpointOfFd(fd, spec, false);
  try {
    return endpointOfFd(openSync(spec, 'r'), spec, true);
  } catch (e) {
    const d = describe(e);
    const why = d.name === 'ENOENT' ? 'it does not exist' : d.name === 'EACCES' ? 'permission denied' : d.name;
    throw new VfioError(`cannot read ${spec}: ${why}`, {
      kind: 'io',
      op: `open ${spec}`,
      fdKind: 'stream',
      errno: d.errno,
    });
  }
}
