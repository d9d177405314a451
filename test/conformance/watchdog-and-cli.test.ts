/** The forbidden-request watchdog and the CLI's safety rules; no emulator in this process. */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { ForbiddenCaller, featureCallWithWatchdog } from '../../runtime/conformance/forbidden-call.js';
import {
  kernelRelease,
  knownFailuresPathFor,
  knownFailuresPathForDevice,
  loadKnownFailures,
  parseKnownFailures,
} from '../../runtime/conformance/index.js';

const featureCall = () => {
  const buf = Buffer.alloc(16);
  buf.writeUInt32LE(16, 0);
  buf.writeUInt32LE(0x20002, 4);
  return buf;
};

it.each(['worker', 'child'] as const)('a %s issues the call and brings back the errno', async (where) => {
  const fd = openSync('/dev/null', 'r');
  try {
    const out = await featureCallWithWatchdog(fd, featureCall(), 10_000, where);
    expect(out).toMatchObject({ done: true, ret: -1, errno: 'ENOTTY' });
  } finally {
    closeSync(fd);
  }
});

/** The process group and state of a process, from /proc (null once it is gone). */
function procStat(pid: number): { state: string; pgrp: number } | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    return { state: fields[0]!, pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}

/** Runs `use` with a child-process caller on /dev/null, which answers VFIO_DEVICE_FEATURE with ENOTTY. */
async function withChildCaller(use: (caller: ForbiddenCaller) => Promise<void>): Promise<void> {
  const fd = openSync('/dev/null', 'r');
  const caller = new ForbiddenCaller(fd, 'child');
  try {
    await use(caller);
  } finally {
    await caller.close();
    closeSync(fd);
  }
}

describe('a real device: one child process for all its forbidden requests', () => {
  it('takes every call, runs in its own process group (Ctrl-C is not for it) and is gone after close()', () =>
    withChildCaller(async (caller) => {
      for (let i = 0; i < 3; i++)
        expect(await caller.call(featureCall(), 10_000)).toMatchObject({ done: true, errno: 'ENOTTY' });
      expect(caller.childrenStarted).toBe(1);
      const pid = caller.childPid!;
      expect(procStat(pid)?.pgrp).toBe(pid);
      await caller.close();
      expect(caller.childPid).toBeNull();
      const after = procStat(pid);
      expect(after === null || after.state === 'Z').toBe(true); // exited (a zombie until node reaps it)
      // The same caller after close(): a new child rather than the ended one.
      expect(await caller.call(featureCall(), 10_000)).toMatchObject({ done: true, errno: 'ENOTTY' });
      expect(caller.childrenStarted).toBe(2);
    }));

  it('a child killed between two calls is replaced: the request was never sent, so it is sent again', () =>
    withChildCaller(async (caller) => {
      expect(await caller.call(featureCall(), 10_000)).toMatchObject({ done: true });
      process.kill(caller.childPid!, 'SIGKILL');
      expect(await caller.call(featureCall(), 10_000)).toMatchObject({ done: true, errno: 'ENOTTY' });
      expect(caller.childrenStarted).toBe(2);
    }));

  it('one call at a time: a second call before the first answered is refused', () =>
    withChildCaller(async (caller) => {
      const first = caller.call(featureCall(), 10_000);
      await expect(caller.call(featureCall(), 10_000)).rejects.toThrow(/one call at a time/);
      expect(await first).toMatchObject({ done: true });
    }));
});

// A worker's clock starts when it is created (so 1 ms is always too little); a child's when it says it is ready,
// since starting node can take seconds in a slow guest.
it('gives up on a call that does not answer in time, without waiting for it', async () => {
  const fd = openSync('/dev/null', 'r');
  try {
    const t0 = Date.now();
    expect(await featureCallWithWatchdog(fd, featureCall(), 1, 'worker')).toEqual({ done: false, why: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(5000);
  } finally {
    closeSync(fd);
  }
});

it('refuses to touch a real device without --yes (exit 2)', async () => {
  expect(await main(['conform', '/dev/vfio/devices/vfio0'])).toBe(2);
});

it('known-failure lists: entries with reasons, comments ignored, malformed lines named', () => {
  const k = parseKnownFailures('# c\n\nstream.enomsg   reads end with 0\n', 'x.txt');
  expect([...k.entries]).toEqual([['stream.enomsg', 'reads end with 0']]);
  expect(() => parseKnownFailures('lonely\n', 'x.txt')).toThrow(/x.txt:1/);
  expect(knownFailuresPathForDevice('emulated:mtty+short-reads')).toMatch(/emulated-mtty\.txt$/);
  expect(knownFailuresPathForDevice('/nonexistent')).toBeNull();
});

it("a committed list is named the same on every machine; a user's list keeps its path", () => {
  expect(loadKnownFailures(knownFailuresPathFor('mtty')).source).toBe('vfio-uapi:known-failures/mtty.txt');
  expect(() => loadKnownFailures('/nonexistent/list.txt')).toThrow(/\/nonexistent\/list\.txt/);
});

it('the conformance entry point answers what a kernel release does', () => {
  expect(kernelRelease('6.1.0-50-amd64', '#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-01-01)').version).toEqual({
    major: 6,
    minor: 1,
    patch: 176,
  });
});
