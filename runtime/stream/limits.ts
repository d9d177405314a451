/**
 * Bounds and cancellation for a transfer: how long to wait for the other side to appear, how long it may
 * stall once the bytes flow, and an AbortSignal that stops everything (the device is recovered, the output
 * is not written). The signal becomes a flag in shared memory so a stream worker sees it too.
 */

export interface TransferLimits {
  /** Longest wait, in ms, for the other side to appear: to listen (unix: save), connect (unix: load), or open a FIFO. */
  connectTimeoutMs?: number;
  /** Longest time, in ms, the other side (pipe, socket, FIFO) may take or give no byte during the transfer. */
  ioTimeoutMs?: number;
  /** Stops waits and transfers: the call then fails with kind `cancelled`. */
  signal?: AbortSignal;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
export const DEFAULT_IO_TIMEOUT_MS = 60_000;

const flags = new WeakMap<AbortSignal, Int32Array>();

/** The shared flag that mirrors `signal` (one per signal), or null without one. */
export function cancelFlagOf(signal: AbortSignal | undefined): Int32Array | null {
  if (!signal) return null;
  let flag = flags.get(signal);
  if (!flag) {
    const f = new Int32Array(new SharedArrayBuffer(4));
    flag = f;
    flags.set(signal, f);
    if (signal.aborted) Atomics.store(f, 0, 1);
    else signal.addEventListener('abort', () => Atomics.store(f, 0, 1), { once: true });
  }
  return flag;
}

/** Why the signal fired, for messages: its reason when that is a string (the CLI passes `SIGINT`/`SIGTERM`). */
export function abortReason(signal: AbortSignal | undefined): string {
  const r = signal?.reason as unknown;
  return typeof r === 'string' ? r : 'the caller';
}

/** A duration for messages: `500 ms`, `1.5 s`, `60 s`. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${+(ms / 1000).toFixed(1)} s`;
}
