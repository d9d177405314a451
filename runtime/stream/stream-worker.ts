/**
 * The stream's bulk loops in a worker thread (saveStream/loadStream with `inWorker`), so the event loop of
 * the thread that asked stays free. The state machine stays with the caller; this thread only moves bytes
 * between two fds, keeps the checksum, and reports progress about every 100 ms.
 */
import { parentPort } from 'node:worker_threads';
import { CHUNK } from './chunk.js';
import { StreamChecksum } from './checksum.js';
import { copyHoldingTail, copySome } from './copy-loops.js';
import { FdIoError, isCancelled, peerWriteAllSync, throwIfCancelled, type ReadCounters } from './fd-io.js';
import type { CommandToStreamWorker, ReplyFromStreamWorker } from './stream-worker-protocol.js';

const port = parentPort!;
let checksum: StreamChecksum | null = null;
let plainBuffer: Buffer | null = null;
let cancel: Int32Array | null = null;

function reply(r: ReplyFromStreamWorker): void {
  port.postMessage(r);
}

/** Progress in batches: a message per chunk would cost more than the chunk. */
function progressReporter(): { add(n: number): void; flush(): void } {
  let pending = 0;
  let last = performance.now();
  return {
    add(n) {
      pending += n;
      const now = performance.now();
      if (now - last >= 100) {
        reply({ type: 'progress', bytes: pending });
        pending = 0;
        last = now;
      }
    },
    flush() {
      if (pending) reply({ type: 'progress', bytes: pending });
      pending = 0;
    },
  };
}

port.on('message', (command: CommandToStreamWorker) => {
  const io: ReadCounters = { eintr: 0, eagain: 0, enomsg: 0 };
  const progress = progressReporter();
  try {
    if (command.type === 'start') {
      checksum = command.checksum ? new StreamChecksum() : null;
      plainBuffer = checksum ? null : Buffer.allocUnsafe(CHUNK);
      cancel = command.cancel ?? null;
      reply({ type: 'done', bytes: 0, end: 'limit', io });
    } else if (command.type === 'copy') {
      const buf = checksum?.buffer ?? plainBuffer!;
      const r = copySome(
        command.from,
        buf,
        command.limit,
        (n) => {
          checksum?.update(n);
          peerWriteAllSync(command.to, buf, n, io);
          progress.add(n);
        },
        io,
        () => isCancelled(cancel),
      );
      progress.flush();
      throwIfCancelled(cancel, 'read');
      reply({ type: 'done', bytes: r.bytes, end: r.end, io });
    } else if (command.type === 'copy-holding-tail') {
      const buf = checksum?.buffer ?? Buffer.allocUnsafe(CHUNK + command.hold);
      const r = copyHoldingTail(command.from, command.to, buf, command.hold, checksum, progress.add, io);
      progress.flush();
      reply({ type: 'held-done', body: r.body, tail: r.tail, io });
    } else if (command.type === 'digest') {
      reply({ type: 'digest', checksum: checksum ? checksum.digest() : null });
    }
  } catch (e) {
    progress.flush();
    if (e instanceof FdIoError) reply({ type: 'io-failed', call: e.call, errno: e.errno, io });
    else reply({ type: 'failed', message: (e as Error).stack ?? String(e) });
  }
});
