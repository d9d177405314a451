/**
 * The supervisor thread. It is created before the seccomp filter exists, so its own syscalls are never
 * trapped. It waits in poll() on the notification fd, a control pipe (commands from the main thread) and the
 * data pipes it feeds, and answers each trapped syscall through the attached handler.
 *
 * poll() has a timeout so that when Node terminates this worker at process exit the thread returns to
 * JavaScript soon and can be stopped; a thread blocked forever in NOTIF_RECV would hang the exit.
 */
import { existsSync, rmSync, writeSync } from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { POLLERR, POLLFD_SIZE, POLLHUP, POLLIN, POLLNVAL } from '../../sys/constants.js';
import { Errno } from '../../sys/errno.js';
import { close, lastErrno, poll, read, readlinkOrNull } from '../../sys/libc.js';
import { CallerMemory } from './caller-memory.js';
import { SyscallNr, VFIO_IOCTL_TYPE } from './constants.js';
import { DataPipe, DEFAULT_PIPE_SIZE } from './data-pipe.js';
import {
  AnswerErrno,
  CallerFault,
  CONTINUE,
  type Answer,
  type DataSink,
  type DataSource,
  type FdTarget,
  type HandlerEnvironment,
  type HandlerFactory,
  type InstallOptions,
  type SyscallHandler,
} from './handler.js';
import { NotificationListener, type Notification } from './listener.js';
import { makePlaceholderDir, sweepStalePlaceholderDirs } from './placeholder-dirs.js';
import type { CommandToWorker, ReplyFromWorker, SupervisorWorkerData } from './protocol.js';

const { controlReadFd, sharedState } = workerData as SupervisorWorkerData;
const exiting = new Int32Array(sharedState);
const port = parentPort!;

const IDLE_POLL_MS = 200;
const EXITING_POLL_MS = 20;

const syscallNames = new Map<number, string>(Object.entries(SyscallNr).map(([name, nr]) => [nr, name]));

interface OwnedFd {
  tag: unknown;
  dataPipe: DataPipe | undefined;
}

let listener: NotificationListener | undefined;
let reservedFirst = 0;
let reservedCount = 0;
let handler: SyscallHandler | undefined;
let placeholderDir: string | undefined;
/** Caller fd number → what we installed there. */
const owned = new Map<number, OwnedFd>();
const pipes = new Set<DataPipe>();
let pollSetDirty = true;
const memory = new CallerMemory();
const linkScratch = Buffer.allocUnsafe(4096);
const controlScratch = Buffer.allocUnsafe(64);

function log(message: string): void {
  writeSync(2, `[seccomp supervisor] ${message}\n`);
}

// ---- answering one notification ------------------------------------------------------------------------

class Call {
  syscall = '';
  pid = 0;
  fd = 0;
  args: readonly bigint[] = [];
  target: FdTarget = { kind: 'placeholder', path: '' };
  request = 0;
  arg = 0n;
  buffer = 0n;
  count = 0;
  id = 0n;

  readMem(address: bigint, length: number): Buffer {
    const into = Buffer.alloc(length);
    const errno = memory.readInto(this.pid, address, into);
    if (errno) throw new CallerFault(errno, address);
    return into;
  }

  writeMem(address: bigint, data: Buffer): void {
    const errno = memory.write(this.pid, address, data);
    if (errno) throw new CallerFault(errno, address);
  }

  installFd(fd: number, options: InstallOptions = {}): number {
    const at = freeReservedFd(this.pid);
    const callerFd = listener!.addFd(this.id, fd, { at, cloexec: options.cloexec !== false });
    if (callerFd < 0) throw new AnswerErrno(-callerFd);
    adopt(callerFd, fd, options);
    return callerFd;
  }

  stillValid(): boolean {
    return listener!.isStillValid(this.id);
  }
}

function adopt(callerFd: number, ourFd: number, options: InstallOptions): void {
  owned.set(callerFd, { tag: options.tag, dataPipe: options.dataPipe });
  if (options.dataPipe) options.dataPipe.releaseCallerEnd();
  if (options.closeOurs && !options.dataPipe) close(ourFd);
}

/** Lowest number in the reserved range that neither we nor the caller use. */
function freeReservedFd(pid: number): number {
  for (let fd = reservedFirst; fd < reservedFirst + reservedCount; fd++) {
    if (owned.has(fd)) continue;
    if (readlinkOrNull(`/proc/${pid}/fd/${fd}`, linkScratch) === null) return fd;
  }
  throw new AnswerErrno(Errno.EMFILE);
}

const call = new Call();

/** Threads of this process seen so far (notifications name the calling thread). */
const ourThreads = new Set<number>();

/**
 * Child processes inherit the filter, so their trapped syscalls reach us too. They are not ours to emulate:
 * their fd numbers mean other files, and their placeholders belong to no handler here.
 */
function isOurThread(tid: number): boolean {
  if (ourThreads.has(tid)) return true;
  if (!existsSync(`/proc/self/task/${tid}`)) return false;
  ourThreads.add(tid);
  return true;
}

function targetOf(n: Notification, fd: number, isVfioIoctl: boolean): FdTarget | undefined {
  const mine = owned.get(fd);
  if (mine) return { kind: 'installed', tag: mine.tag, dataPipe: mine.dataPipe };
  if (!isVfioIoctl || !placeholderDir) return undefined;
  // BPF cannot see paths, so a ';' ioctl on an fd we did not install is ours only if the fd is a placeholder.
  const link = readlinkOrNull(`/proc/${n.pid}/fd/${fd}`, linkScratch);
  if (link === null || !link.startsWith(placeholderDir + '/')) return undefined;
  return { kind: 'placeholder', path: link };
}

function decide(n: Notification): Answer {
  if (!handler || !isOurThread(n.pid)) return CONTINUE;
  const fd = Number(BigInt.asIntN(32, n.args[0]));
  const name = syscallNames.get(n.nr) ?? `syscall ${n.nr}`;
  const isIoctl = n.nr === SyscallNr.ioctl;
  const request = isIoctl ? Number(n.args[1] & 0xffffffffn) : 0;
  const target = targetOf(n, fd, isIoctl && ((request >> 8) & 0xff) === VFIO_IOCTL_TYPE);
  if (!target) return CONTINUE;
  if (target.kind === 'placeholder' && !listener!.isStillValid(n.id)) return CONTINUE; // fd may be reused

  call.syscall = name;
  call.pid = n.pid;
  call.fd = fd;
  call.args = n.args;
  call.target = target;
  call.id = n.id;
  call.request = request;
  call.arg = n.args[2];
  call.buffer = n.args[1];
  call.count = Number(n.args[2]);

  switch (n.nr) {
    case SyscallNr.ioctl:
      return handler.ioctl?.(call) ?? CONTINUE;
    case SyscallNr.read:
      return handler.read?.(call) ?? CONTINUE;
    case SyscallNr.write:
      return handler.write?.(call) ?? CONTINUE;
    case SyscallNr.close: {
      // The close always happens; the handler only learns about it.
      owned.delete(fd);
      try {
        handler.close?.(call);
      } finally {
        target.kind === 'installed' && target.dataPipe?.close();
      }
      return CONTINUE;
    }
    default:
      return handler.other?.(call) ?? CONTINUE;
  }
}

function serveOneNotification(): void {
  const n = listener!.receive();
  if (!n) return;
  let answer: Answer;
  try {
    answer = decide(n);
  } catch (e) {
    if (e instanceof CallerFault || e instanceof AnswerErrno) answer = { errno: e.errno };
    else {
      log(`handler failed on ${syscallNames.get(n.nr) ?? n.nr}: ${(e as Error).stack ?? e}`);
      answer = { errno: Errno.EIO };
    }
  }
  if ('continue' in answer) listener!.sendContinue(n.id);
  else if ('errno' in answer) listener!.sendErrno(n.id, answer.errno);
  else if ('value' in answer) listener!.sendValue(n.id, answer.value);
  else {
    const { fd, ...options } = answer.addFd;
    let at: number;
    try {
      at = freeReservedFd(n.pid);
    } catch (e) {
      listener!.sendErrno(n.id, (e as AnswerErrno).errno);
      return;
    }
    const callerFd = listener!.addFd(n.id, fd, { at, cloexec: options.cloexec !== false, completeSyscall: true });
    if (callerFd < 0) listener!.sendErrno(n.id, -callerFd);
    else adopt(callerFd, fd, options);
  }
}

// ---- commands from the main thread ---------------------------------------------------------------------

const environmentTools = {
  createSourcePipe(source: DataSource, options?: { pipeSize?: number }) {
    const pipe = DataPipe.toCaller(source, options?.pipeSize ?? DEFAULT_PIPE_SIZE, markPollSetDirty);
    pipes.add(pipe);
    pollSetDirty = true;
    return pipe;
  },
  createSinkPipe(sink: DataSink, options?: { pipeSize?: number }) {
    const pipe = DataPipe.fromCaller(sink, options?.pipeSize ?? DEFAULT_PIPE_SIZE, markPollSetDirty);
    pipes.add(pipe);
    pollSetDirty = true;
    return pipe;
  },
};

function markPollSetDirty(): void {
  pollSetDirty = true;
}

async function runCommand(command: CommandToWorker): Promise<ReplyFromWorker> {
  switch (command.type) {
    case 'listen':
      listener = new NotificationListener(command.listenerFd);
      reservedFirst = command.reservedFdFirst;
      reservedCount = command.reservedFdCount;
      listener.enableSyncWakeUp();
      pollSetDirty = true;
      return { type: 'done', requestId: command.requestId };
    case 'attach': {
      if (handler) throw new Error('a handler is already attached to this process');
      sweepStalePlaceholderDirs();
      const dir = makePlaceholderDir();
      try {
        const module = (await import(command.handlerModule)) as { default?: HandlerFactory };
        if (typeof module.default !== 'function') {
          throw new Error(`${command.handlerModule} has no default export creating a SyscallHandler`);
        }
        const env: HandlerEnvironment = {
          placeholderDir: dir,
          options: command.handlerOptions,
          log,
          ...environmentTools,
        };
        handler = await module.default(env);
        placeholderDir = dir;
      } catch (e) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
      return { type: 'attached', requestId: command.requestId, placeholderDir: dir };
    }
    case 'message': {
      if (!handler?.message) throw new Error('the attached handler takes no messages');
      return { type: 'answer', requestId: command.requestId, value: handler.message(command.payload) };
    }
    case 'detach': {
      const old = handler;
      handler = undefined;
      try {
        old?.dispose?.();
      } finally {
        for (const pipe of pipes) pipe.close();
        pipes.clear();
        owned.clear();
        if (placeholderDir) rmSync(placeholderDir, { recursive: true, force: true });
        placeholderDir = undefined;
      }
      return { type: 'done', requestId: command.requestId };
    }
  }
}

async function runPendingCommands(): Promise<void> {
  while (read(controlReadFd, controlScratch) > 0);
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    const command = m.message as CommandToWorker;
    let reply: ReplyFromWorker;
    try {
      reply = await runCommand(command);
    } catch (e) {
      reply = { type: 'failed', requestId: command.requestId, message: (e as Error).stack ?? String(e) };
    }
    port.postMessage(reply);
  }
}

// ---- the loop ---------------------------------------------------------------------------------------------

let pollFds = Buffer.alloc(POLLFD_SIZE * 4);
let pollPipes: DataPipe[] = [];
let pollCount = 0;

function rebuildPollSet(): void {
  for (const pipe of pipes) if (pipe.isClosed) pipes.delete(pipe);
  pollPipes = [...pipes].filter((p) => p.wantedEvents() !== 0);
  pollCount = 1 + (listener ? 1 : 0) + pollPipes.length;
  if (pollFds.length < pollCount * POLLFD_SIZE) pollFds = Buffer.alloc(pollCount * POLLFD_SIZE * 2);
  let slot = 0;
  const put = (fd: number, events: number) => {
    pollFds.writeInt32LE(fd, slot * POLLFD_SIZE);
    pollFds.writeInt16LE(events, slot * POLLFD_SIZE + 4);
    pollFds.writeInt16LE(0, slot * POLLFD_SIZE + 6);
    slot++;
  };
  put(controlReadFd, POLLIN);
  if (listener) put(listener.fd, POLLIN);
  for (const pipe of pollPipes) put(pipe.ourEnd, pipe.wantedEvents());
  pollSetDirty = false;
}

const revents = (slot: number) => pollFds.readInt16LE(slot * POLLFD_SIZE + 6);

async function loop(): Promise<void> {
  port.postMessage({ type: 'ready' } satisfies ReplyFromWorker);
  for (;;) {
    if (pollSetDirty) rebuildPollSet();
    const timeout = Atomics.load(exiting, 0) ? EXITING_POLL_MS : IDLE_POLL_MS;
    const ready = poll(pollFds, pollCount, timeout);
    if (ready < 0) {
      if (lastErrno() === Errno.EINTR) continue;
      log(`poll failed with errno ${lastErrno()}; supervisor stops`);
      return;
    }
    if (ready === 0) continue;
    if (revents(0) & POLLIN) {
      await runPendingCommands();
      pollSetDirty = true;
      continue; // the poll set may have changed under us
    }
    let slot = 1;
    if (listener) {
      const ev = revents(slot++);
      if (ev & POLLIN) serveOneNotification();
      else if (ev & (POLLHUP | POLLERR | POLLNVAL)) {
        // No task uses the filter any more (the process is going away).
        listener = undefined;
        pollSetDirty = true;
        continue;
      }
    }
    for (const pipe of pollPipes) {
      const ev = revents(slot++);
      if (ev) {
        const before = pipe.wantedEvents();
        pipe.service();
        if (pipe.wantedEvents() !== before) pollSetDirty = true;
      }
    }
  }
}

await loop();
