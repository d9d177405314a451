/**
 * The destination's confirmation over a Unix stream socket (`migrate SOURCE unix:/PATH` into
 * `load DEVICE unix:/PATH`): once the whole stream is sent, the sender shuts its side for writing and waits for
 * one line back, `VFIO-UAPI-RESULT {json}`, that the receiver writes after its load committed (`ok: true`) or
 * failed. The source is left stopped only on `ok: true` (PROTOCOL.md); no line, a closed socket or a timeout
 * count as "not confirmed".
 */
import { Errno, lastErrno, libc, POLLIN, read, write } from '../sys/index.js';
import { pollOne, yieldToEventLoop } from './fd-io.js';

const PREFIX = 'VFIO-UAPI-RESULT ';
const SHUT_WR = 1;
const shutdownC = libc.func('int shutdown(int fd, int how)') as (fd: number, how: number) => number;

export interface ConfirmedResult {
  ok: boolean;
  [k: string]: unknown;
}

/** Write the result line to the sender; the sender may be gone (EPIPE) or not listening: errors are ignored. */
export function sendResult(fd: number, result: ConfirmedResult): void {
  const line = Buffer.from(`${PREFIX}${JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))}\n`);
  for (let done = 0; done < line.length;) {
    const n = write(fd, done === 0 ? line : line.subarray(done), line.length - done);
    if (n > 0) done += n;
    else if (n < 0 && lastErrno() === Errno.EINTR) continue;
    else return;
  }
}

/**
 * Shut the sending side (the receiver sees the end of the stream) and wait up to `timeoutMs` for the result
 * line. Returns the result, or `{ ok: false, error }` saying why there is none. The wait gives the event loop
 * a turn between short polls, and `signal` ends it (not confirmed: the caller resumes its source).
 */
export async function awaitResult(fd: number, timeoutMs: number, signal?: AbortSignal): Promise<ConfirmedResult> {
  shutdownC(fd, SHUT_WR);
  const deadline = Date.now() + timeoutMs;
  const buf = Buffer.alloc(64 * 1024);
  let text = '';
  for (;;) {
    const newline = text.indexOf('\n');
    if (newline >= 0) {
      const line = text.slice(0, newline);
      if (!line.startsWith(PREFIX)) return { ok: false, error: 'the receiver answered something that is not a result' };
      try {
        return JSON.parse(line.slice(PREFIX.length)) as ConfirmedResult;
      } catch {
        return { ok: false, error: 'the receiver sent a result that is not JSON' };
      }
    }
    const left = deadline - Date.now();
    if (left <= 0) return { ok: false, error: `no confirmation from the receiver within ${timeoutMs} ms` };
    if (signal?.aborted)
      return { ok: false, error: `stopped by ${String(signal.reason)} before the receiver confirmed` };
    if (pollOne(fd, POLLIN, Math.min(left, 20)) <= 0) {
      await yieldToEventLoop();
      continue;
    }
    const n = read(fd, buf, buf.length);
    if (n === 0) return { ok: false, error: 'the receiver closed the connection without confirming the load' };
    if (n < 0) {
      if (lastErrno() === Errno.EINTR || lastErrno() === Errno.EAGAIN) continue;
      return { ok: false, error: 'the connection to the receiver failed before it confirmed the load' };
    }
    text += buf.toString('utf8', 0, n);
  }
}
