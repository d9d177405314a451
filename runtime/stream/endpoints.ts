/**
 * The other side of a stream: a file, a pipe, stdin/stdout (`-`), an inherited fd (`fd:N`, e.g. one end
 * of a socketpair handed to a child process), or a Unix stream socket (`unix:/path`: load listens there
 * and takes one connection, save connects). Bulk data goes through raw blocking fds, never Node streams
 * (net.Socket moves bulk data at about a third of the speed).
 */
import { closeSync, fstatSync, openSync, rmSync } from 'node:fs';
import koffi from 'koffi';
import { Errno, errnoName, libc } from '../sys/index.js';
import { VfioError } from '../errors.js';

export interface Endpoint {
  fd: number;
  /** What the user named, for messages. */
  name: string;
  /** A regular file: its size can be checked (and its trailer read) before loading. */
  seekable: boolean;
  size: number;
  /** For a listening socket: wait for the one connection (blocking); `fd` is the connection afterwards. */
  accept?(): void;
  close(): void;
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SUN_PATH_MAX = 107;
const ECONNREFUSED = 111;
const sys = {
  socket: libc.func('int socket(int domain, int type, int protocol)') as (d: number, t: number, p: number) => number,
  connect: libc.func('int connect(int fd, const void *addr, unsigned int len)') as (
    fd: number,
    addr: Buffer,
    len: number,
  ) => number,
  bind: libc.func('int bind(int fd, const void *addr, unsigned int len)') as (
    fd: number,
    a: Buffer,
    l: number,
  ) => number,
  listen: libc.func('int listen(int fd, int backlog)') as (fd: number, backlog: number) => number,
  accept: libc.func('int accept4(int fd, void *addr, void *len, int flags)') as (
    fd: number,
    addr: null,
    len: null,
    flags: number,
  ) => number,
};

function unixPath(spec: string): string | null {
  return spec.startsWith('unix:') ? spec.slice('unix:'.length) : null;
}

/** struct sockaddr_un for `path`. */
function sockaddrUn(spec: string, path: string): Buffer {
  const bytes = Buffer.from(path, 'utf8');
  if (bytes.length === 0 || bytes.length > SUN_PATH_MAX)
    throw new VfioError(`${spec}: a Unix socket path must be 1 to ${SUN_PATH_MAX} bytes`, {
      kind: 'usage',
      op: `open ${spec}`,
      fdKind: 'stream',
    });
  const addr = Buffer.alloc(2 + SUN_PATH_MAX + 1);
  addr.writeUInt16LE(AF_UNIX, 0);
  bytes.copy(addr, 2);
  return addr;
}

function socketError(spec: string, op: string, errno: number, why?: string): VfioError {
  return new VfioError(`${spec}: ${why ?? `${op} failed: ${errnoName(errno)}`}`, {
    kind: 'io',
    op: `${op} ${spec}`,
    fdKind: 'stream',
    errno,
  });
}

/** Connect to a listening Unix socket, retrying while it does not exist yet (the peer may be starting). */
function connectUnix(spec: string, path: string, waitMs: number): Endpoint {
  const addr = sockaddrUn(spec, path);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const fd = sys.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw socketError(spec, 'socket', koffi.errno());
    if (sys.connect(fd, addr, addr.length) === 0)
      return { fd, name: spec, seekable: false, size: 0, close: () => closeSync(fd) };
    const errno = koffi.errno();
    closeSync(fd);
    const notYet = errno === Errno.ENOENT || errno === ECONNREFUSED;
    if (!notYet || Date.now() >= deadline)
      throw socketError(
        spec,
        'connect',
        errno,
        notYet ? 'nobody is listening there (start the destination first)' : undefined,
      );
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

/** Listen on a Unix socket path (replacing a stale socket file); `accept()` takes the one connection. */
function listenUnix(spec: string, path: string): Endpoint {
  const addr = sockaddrUn(spec, path);
  const listener = sys.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) throw socketError(spec, 'socket', koffi.errno());
  rmSync(path, { force: true });
  if (sys.bind(listener, addr, addr.length) < 0 || sys.listen(listener, 1) < 0) {
    const errno = koffi.errno();
    closeSync(listener);
    throw socketError(spec, 'listen', errno);
  }
  let connection = -1;
  let listening = true;
  const stopListening = () => {
    if (!listening) return;
    listening = false;
    closeSync(listener);
    rmSync(path, { force: true });
  };
  return {
    get fd() {
      return connection;
    },
    name: spec,
    seekable: false,
    size: 0,
    accept() {
      if (connection >= 0) return;
      for (;;) {
        connection = sys.accept(listener, null, null, SOCK_CLOEXEC);
        if (connection >= 0) break;
        const errno = koffi.errno();
        if (errno !== Errno.EINTR) throw socketError(spec, 'accept', errno);
      }
      stopListening();
    },
    close() {
      stopListening();
      if (connection >= 0) closeSync(connection);
      connection = -1;
    },
  };
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

/**
 * Open where a saved stream goes: `-` (stdout), `fd:N`, `unix:/path` (connect, waiting up to
 * `connectWaitMs`, default 10 s or $VFIO_UAPI_CONNECT_WAIT_MS, for a listener), or a file path (created or truncated).
 */
export function openSink(
  spec: string,
  connectWaitMs = Number(process.env.VFIO_UAPI_CONNECT_WAIT_MS ?? 10_000),
): Endpoint {
  if (spec === '-') return endpointOfFd(1, 'stdout', false);
  const socketPath = unixPath(spec);
  if (socketPath !== null) return connectUnix(spec, socketPath, connectWaitMs);
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

/**
 * Open where a saved stream comes from: `-` (stdin), `fd:N`, `unix:/path` (listen there; the connection
 * is taken by `accept()`, which loadStream calls), or a file path.
 */
export function openSource(spec: string): Endpoint {
  if (spec === '-') return endpointOfFd(0, 'stdin', false);
  const socketPath = unixPath(spec);
  if (socketPath !== null) return listenUnix(spec, socketPath);
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
