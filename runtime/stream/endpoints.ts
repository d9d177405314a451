/**
 * The other side of a stream: a file, a pipe, stdin/stdout (`-`), an inherited fd (`fd:N`, e.g. one end
 * of a socketpair handed to a child process), or a Unix stream socket (`unix:/path`: load listens there
 * and takes one connection, save connects). Bulk data goes through raw fds, never Node streams (net.Socket
 * moves bulk data at about a third of the speed).
 *
 * What the user owns is never damaged: a file path is written atomically (atomic-file.ts); `unix:` never
 * removes anything but a stale socket; pipes and sockets are driven without blocking (a private O_NONBLOCK
 * open of a pipe, MSG_DONTWAIT on a socket), so every wait for the other side has a bound and can be
 * cancelled (limits.ts). Failures are VfioErrors of kind `io` (exit 7) naming the path and the errno, or
 * `usage` (exit 2) for a malformed endpoint.
 */
import {
  closeSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  statSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import { dirname } from 'node:path';
import koffi from 'koffi';
import {
  Errno,
  errnoMeaning,
  errnoName,
  errnoOfError,
  fcntl,
  F_GETFL,
  libc,
  O_ACCMODE,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  POLLIN,
  readlinkOrNull,
} from '../sys/index.js';
import { VfioError } from '../errors.js';
import { openAtomicFile } from './atomic-file.js';
import { endpointSyntax, EndpointSyntaxError, SUN_PATH_MAX, type EndpointSpec } from './endpoint-spec.js';
import { isCancelled, pollOne, yieldToEventLoop, type PeerIo, type PeerMode } from './fd-io.js';
import {
  abortReason,
  cancelFlagOf,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_IO_TIMEOUT_MS,
  formatMs,
  type TransferLimits,
} from './limits.js';

export interface Endpoint {
  /** The fd bytes move through (for a pipe, this process's own non-blocking open of it). */
  fd: number;
  /** What the user named, for messages. */
  name: string;
  /** A regular file: its size can be checked (and its trailer read) before loading. */
  seekable: boolean;
  size: number;
  /** How bytes move through `fd` (fd-io.ts); absent means `blocking`. */
  mode?: PeerMode;
  /**
   * Wait for the other side, bounded by the connect timeout: a listening socket takes its one connection,
   * a connecting one reaches its listener, a FIFO gets its other end. `fd` is valid afterwards.
   */
  accept?(): void | Promise<void>;
  /** Make what was written permanent (a file: fsync, then rename over the target). Without it, close discards. */
  commit?(): void;
  close(): void;
}

export type EndpointOptions = Pick<TransferLimits, 'connectTimeoutMs' | 'signal'>;

/** The peer I/O description of an endpoint, with the transfer's bounds (see fd-io.ts). */
export function peerOf(e: Endpoint, limits: TransferLimits = {}): PeerIo {
  return {
    fd: e.fd,
    mode: e.mode ?? 'blocking',
    idleMs: limits.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS,
    cancel: cancelFlagOf(limits.signal),
  };
}

export type { EndpointSpec };

function usage(spec: string, message: string): VfioError {
  return new VfioError(message, { kind: 'usage', op: `open ${spec}`, fdKind: 'stream' });
}

/** Parse an endpoint (`-`, `fd:N`, `unix:/PATH`, a path); a malformed one is a usage error. */
export function parseEndpoint(spec: string): EndpointSpec {
  try {
    return endpointSyntax(spec);
  } catch (e) {
    if (e instanceof EndpointSyntaxError) throw usage(spec, e.message);
    throw e;
  }
}

// ---- errors ----

/** `cannot write X: why` (kind io, exit 7), with the errno by name. */
export function pathError(direction: 'read' | 'write', name: string, errno: number, why?: string): VfioError {
  return new VfioError(`cannot ${direction} ${name}: ${why ?? `${errnoName(errno)} (${errnoMeaning(errno)})`}`, {
    kind: 'io',
    op: `${direction} ${name}`,
    fdKind: 'stream',
    errno,
  });
}

function cancelled(name: string, signal: AbortSignal | undefined, waitingFor: string): VfioError {
  return new VfioError(`stopped by ${abortReason(signal)} while waiting for ${waitingFor} (${name})`, {
    kind: 'cancelled',
    op: `wait ${name}`,
    fdKind: 'stream',
    errno: Errno.ECANCELED,
  });
}

/** A few errnos in plain words; the rest by name and meaning. */
function plain(errno: number, subject: 'file' | 'folder' = 'file'): string {
  if (errno === Errno.ENOENT) return subject === 'folder' ? 'its folder does not exist' : 'it does not exist';
  if (errno === Errno.EACCES || errno === Errno.EPERM) return `permission denied (${errnoName(errno)})`;
  if (errno === Errno.EISDIR) return 'it is a folder (EISDIR)';
  if (errno === Errno.ENOTDIR) return 'a part of its path is not a folder (ENOTDIR)';
  return `${errnoName(errno)} (${errnoMeaning(errno)})`;
}

// ---- sockets ----

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
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

/** struct sockaddr_un for `path` (already checked by parseEndpoint). */
function sockaddrUn(path: string): Buffer {
  const addr = Buffer.alloc(2 + SUN_PATH_MAX + 1);
  addr.writeUInt16LE(AF_UNIX, 0);
  Buffer.from(path, 'utf8').copy(addr, 2);
  return addr;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    if (errnoOfError(e) === Errno.ENOENT) return null;
    throw e;
  }
}

/** The socket path's folder must exist now (waiting cannot create it) and the path must be a socket or nothing. */
function checkSocketPath(spec: string, path: string, direction: 'read' | 'write'): Stats | null {
  const folder = dirname(path);
  let st: Stats | null;
  try {
    if (!statSync(folder).isDirectory())
      throw pathError(direction, spec, Errno.ENOTDIR, `${folder} is not a folder (ENOTDIR)`);
    st = lstatOrNull(path);
  } catch (e) {
    if (e instanceof VfioError) throw e;
    const errno = errnoOfError(e);
    throw pathError(
      direction,
      spec,
      errno,
      errno === Errno.ENOENT ? `its folder ${folder} does not exist` : plain(errno),
    );
  }
  if (st && !st.isSocket())
    throw pathError(
      direction,
      spec,
      Errno.EEXIST,
      `${path} exists and is not a socket; it is left alone (remove it yourself or choose another path)`,
    );
  return st;
}

/**
 * Connect to a listening Unix socket. The connection is made in accept(): it retries while nobody listens
 * yet (the peer may be starting), up to the connect timeout, letting the event loop run between tries.
 */
function connectUnix(spec: string, path: string, opts: EndpointOptions): Endpoint {
  checkSocketPath(spec, path, 'write');
  const waitMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const addr = sockaddrUn(path);
  let fd = -1;
  return {
    get fd() {
      return fd;
    },
    name: spec,
    seekable: false,
    size: 0,
    mode: 'socket',
    async accept() {
      if (fd >= 0) return;
      const deadline = performance.now() + waitMs;
      for (;;) {
        if (opts.signal?.aborted) throw cancelled(spec, opts.signal, 'a listener');
        const s = sys.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s < 0) throw pathError('write', spec, koffi.errno());
        if (sys.connect(s, addr, addr.length) === 0) {
          fd = s;
          return;
        }
        const errno = koffi.errno();
        closeSync(s);
        // Not there yet, a stale socket, or a full backlog: try again until the deadline.
        const notYet = errno === Errno.ENOENT || errno === Errno.ECONNREFUSED || errno === Errno.EAGAIN;
        if (!notYet) throw pathError('write', spec, errno);
        if (performance.now() >= deadline)
          throw pathError(
            'write',
            spec,
            Errno.ETIMEDOUT,
            `nobody is listening there after ${formatMs(waitMs)} (start the destination first, or raise --connect-timeout)`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close() {
      if (fd >= 0) closeSync(fd);
      fd = -1;
    },
  };
}

/**
 * Listen on a Unix socket path; accept() takes the one connection. An existing socket is replaced only if
 * nobody listens on it (a stale one); anything else at the path is refused, never removed.
 */
function listenUnix(spec: string, path: string, opts: EndpointOptions): Endpoint {
  const existing = checkSocketPath(spec, path, 'read');
  const addr = sockaddrUn(path);
  if (existing) {
    const probe = sys.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const alive = probe >= 0 && sys.connect(probe, addr, addr.length) === 0;
    const errno = alive ? 0 : koffi.errno();
    if (probe >= 0) closeSync(probe);
    if (alive || errno === Errno.EAGAIN)
      throw pathError('read', spec, Errno.EADDRINUSE, 'another process is listening there (EADDRINUSE)');
    unlinkSync(path); // a socket nobody listens on: left by a process that died
  }
  const listener = sys.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listener < 0) throw pathError('read', spec, koffi.errno());
  if (sys.bind(listener, addr, addr.length) < 0 || sys.listen(listener, 1) < 0) {
    const errno = koffi.errno();
    closeSync(listener);
    throw pathError('read', spec, errno);
  }
  // Ours is this inode: only it is removed when we stop listening.
  const ours = lstatSync(path).ino;
  const waitMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let connection = -1;
  let listening = true;
  const stopListening = () => {
    if (!listening) return;
    listening = false;
    closeSync(listener);
    const now = lstatOrNull(path);
    if (now?.isSocket() && now.ino === ours) unlinkSync(path);
  };
  return {
    get fd() {
      return connection;
    },
    name: spec,
    seekable: false,
    size: 0,
    mode: 'socket',
    async accept() {
      if (connection >= 0) return;
      const deadline = performance.now() + waitMs;
      for (;;) {
        if (opts.signal?.aborted) throw cancelled(spec, opts.signal, 'a sender');
        connection = sys.accept(listener, null, null, SOCK_CLOEXEC);
        if (connection >= 0) break;
        const errno = koffi.errno();
        if (errno !== Errno.EAGAIN && errno !== Errno.EINTR) throw pathError('read', spec, errno);
        if (performance.now() >= deadline)
          throw pathError(
            'read',
            spec,
            Errno.ETIMEDOUT,
            `no sender connected within ${formatMs(waitMs)} (raise --connect-timeout to wait longer)`,
          );
        if (pollOne(listener, POLLIN, 20) <= 0) await yieldToEventLoop();
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

// ---- descriptors: -, fd:N, FIFOs ----

function describeFd(fd: number, name: string, direction: 'read' | 'write'): Stats {
  let st: Stats;
  try {
    st = fstatSync(fd);
  } catch (e) {
    throw pathError(
      direction,
      name,
      errnoOfError(e),
      `it is not an open file descriptor (${errnoName(errnoOfError(e))})`,
    );
  }
  const foreign = notGiven(fd);
  if (foreign)
    throw pathError(
      direction,
      name,
      Errno.EBADF,
      `it is not a stream this process was given: it is ${foreign}, which Node uses itself`,
    );
  const access = fcntl(fd, F_GETFL) & O_ACCMODE;
  if ((direction === 'write' && access === O_RDONLY) || (direction === 'read' && access === O_WRONLY))
    throw pathError(
      direction,
      name,
      Errno.EBADF,
      `it is open for ${direction === 'write' ? 'reading' : 'writing'} only (EBADF)`,
    );
  if (st.isDirectory()) throw pathError(direction, name, Errno.EISDIR, 'it is a folder (EISDIR)');
  return st;
}

/**
 * Whether `fd` is one of Node's own (an epoll or eventfd, or a self-pipe with both ends here) rather than a
 * descriptor handed to this process: returns what it is, or null. Writing a saved state into the event
 * loop's wake-up pipe would hang or corrupt this process.
 */
function notGiven(fd: number): string | null {
  const link = readlinkOrNull(`/proc/self/fd/${fd}`);
  if (link === null) return null;
  if (link.startsWith('anon_inode:')) return link;
  if (!link.startsWith('pipe:')) return null;
  for (const other of readdirSync('/proc/self/fd')) {
    if (Number(other) === fd) continue;
    if (readlinkOrNull(`/proc/self/fd/${other}`) === link)
      return `one end of a pipe whose other end it holds (${link})`;
  }
  return null;
}

/**
 * This process's own non-blocking open of the pipe behind `fd` (through /proc/self/fd), so O_NONBLOCK
 * does not change the pipe end others share (a shell's stdout, say). Null when that is not possible.
 */
function privatePipe(fd: number, direction: 'read' | 'write'): number | null {
  try {
    return openSync(`/proc/self/fd/${fd}`, (direction === 'read' ? O_RDONLY : O_WRONLY) | O_NONBLOCK);
  } catch {
    return null; // a write end without a reader (ENXIO): the first write says EPIPE
  }
}

function endpointOfFd(fd: number, name: string, direction: 'read' | 'write', owned: boolean): Endpoint {
  const st = describeFd(fd, name, direction);
  const base = { name, seekable: st.isFile(), size: st.isFile() ? st.size : 0 };
  if (st.isSocket()) return { ...base, fd, mode: 'socket', close: () => owned && closeSync(fd) };
  if (st.isFIFO()) {
    const own = privatePipe(fd, direction);
    if (own !== null)
      return {
        ...base,
        fd: own,
        mode: 'nonblocking',
        close: () => {
          closeSync(own);
          if (owned) closeSync(fd);
        },
      };
  }
  return { ...base, fd, mode: 'blocking', close: () => owned && closeSync(fd) };
}

/** A FIFO named by path: opened without blocking; accept() waits (bounded) for its other end. */
function fifoByPath(path: string, direction: 'read' | 'write', opts: EndpointOptions): Endpoint {
  const waitMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let fd = -1;
  const tryOpen = (): boolean => {
    try {
      fd = openSync(path, (direction === 'read' ? O_RDONLY : O_WRONLY) | O_NONBLOCK);
      return true;
    } catch (e) {
      if (errnoOfError(e) === Errno.ENXIO) return false; // a write end waits for a reader
      throw pathError(direction, path, errnoOfError(e), plain(errnoOfError(e)));
    }
  };
  if (direction === 'read') tryOpen();
  return {
    get fd() {
      return fd;
    },
    name: path,
    seekable: false,
    size: 0,
    mode: 'nonblocking',
    async accept() {
      const deadline = performance.now() + waitMs;
      const other = direction === 'read' ? 'a writer' : 'a reader';
      for (;;) {
        if (isCancelled(cancelFlagOf(opts.signal))) throw cancelled(path, opts.signal, other);
        // A read end is ready once a writer has written or come and gone; a write end once it opens.
        if (direction === 'read' ? pollOne(fd, POLLIN, 20) > 0 : tryOpen()) return;
        if (performance.now() >= deadline)
          throw pathError(
            direction,
            path,
            Errno.ETIMEDOUT,
            `no ${other.slice(2)} opened this FIFO within ${formatMs(waitMs)}`,
          );
        if (direction === 'write') await new Promise((r) => setTimeout(r, 20));
        else await yieldToEventLoop();
      }
    },
    close() {
      if (fd >= 0) closeSync(fd);
      fd = -1;
    },
  };
}

/**
 * Open where a saved stream goes: `-` (stdout), `fd:N`, `unix:/path` (connect, waiting up to the connect
 * timeout for a listener, in accept()), or a path: a regular file (new or not) is written atomically (a
 * temporary file beside it, renamed over it by commit(); a failed save leaves what was there), a device node
 * or FIFO in place.
 */
export function openSink(spec: string, opts: EndpointOptions | number = {}): Endpoint {
  const o: EndpointOptions = typeof opts === 'number' ? { connectTimeoutMs: opts } : opts;
  const e = parseEndpoint(spec);
  if (e.kind === 'stdio') {
    if (process.stdout.isTTY) throw usage(spec, 'stdout is a terminal: redirect it to a file or a pipe to save to -');
    return endpointOfFd(1, 'stdout', 'write', false);
  }
  if (e.kind === 'unix') return connectUnix(spec, e.path, o);
  if (e.kind === 'fd') return endpointOfFd(e.fd, spec, 'write', true);
  let st: Stats | null;
  try {
    st = statSync(e.path);
  } catch (err) {
    const errno = errnoOfError(err);
    if (errno !== Errno.ENOENT) throw pathError('write', spec, errno, plain(errno));
    st = null; // new, or a dangling symlink: atomic-file.ts sorts that out
  }
  if (st?.isDirectory()) throw pathError('write', spec, Errno.EISDIR, 'it is a folder (EISDIR)');
  if (st?.isSocket())
    throw pathError(
      'write',
      spec,
      Errno.ENXIO,
      `it is a Unix socket; to send to the process listening there, write unix:${spec}`,
    );
  if (st?.isFIFO()) return fifoByPath(e.path, 'write', o);
  if (st && !st.isFile()) {
    // A device node (/dev/null, /dev/full, a tty): written in place, as the user asked.
    try {
      return endpointOfFd(openSync(e.path, O_WRONLY), spec, 'write', true);
    } catch (err) {
      if (err instanceof VfioError) throw err;
      throw pathError('write', spec, errnoOfError(err), plain(errnoOfError(err)));
    }
  }
  return openAtomicFile(e.path, spec);
}

/**
 * Open where a saved stream comes from: `-` (stdin), `fd:N`, `unix:/path` (listen there; the connection
 * is taken by `accept()`, which loadStream calls), or a path (a file, a device node, or a FIFO whose
 * writer accept() waits for).
 */
export function openSource(spec: string, opts: EndpointOptions = {}): Endpoint {
  const e = parseEndpoint(spec);
  if (e.kind === 'stdio') {
    if (process.stdin.isTTY) throw usage(spec, 'stdin is a terminal: pipe a saved state into it to load from -');
    return endpointOfFd(0, 'stdin', 'read', false);
  }
  if (e.kind === 'unix') return listenUnix(spec, e.path, opts);
  // An inherited fd belongs to whoever passed it; we only read it (and the process exit closes it).
  if (e.kind === 'fd') return endpointOfFd(e.fd, spec, 'read', false);
  let st: Stats;
  try {
    st = statSync(e.path);
  } catch (err) {
    const errno = errnoOfError(err);
    // A dangling symlink says ENOENT too; name it.
    let why = plain(errno);
    if (errno === Errno.ENOENT && lstatOrNull(e.path)?.isSymbolicLink())
      why = `it is a symbolic link to ${readlinkSync(e.path)}, which does not exist`;
    throw pathError('read', spec, errno, why);
  }
  if (st.isDirectory()) throw pathError('read', spec, Errno.EISDIR, 'it is a folder (EISDIR)');
  if (st.isSocket())
    throw pathError('read', spec, Errno.ENXIO, `it is a Unix socket; to listen there, write unix:${spec}`);
  if (st.isFIFO()) return fifoByPath(e.path, 'read', opts);
  try {
    return endpointOfFd(openSync(e.path, O_RDONLY), spec, 'read', true);
  } catch (err) {
    if (err instanceof VfioError) throw err;
    throw pathError('read', spec, errnoOfError(err), plain(errnoOfError(err)));
  }
}
