/** The forbidden-request watchdog and the CLI's safety rules; no emulator in this process. */
import { openSync, closeSync } from 'node:fs';
import { expect, it } from 'vitest';
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

it('a real device gets one child for all its calls, and the child is gone after close()', async () => {
  const fd = openSync('/dev/null', 'r');
  const caller = new ForbiddenCaller(fd, 'child');
  try {
    for (let i = 0; i < 3; i++)
      expect(await caller.call(featureCall(), 10_000)).toMatchObject({ done: true, errno: 'ENOTTY' });
    expect(caller.childrenStarted).toBe(1);
  } finally {
    await caller.close();
    closeSync(fd);
  }
  // A call after close() starts a new child rather than writing to the ended one.
  const again = new ForbiddenCaller(openSync('/dev/null', 'r'), 'child');
  expect(await again.call(featureCall(), 10_000)).toMatchObject({ done: true, errno: 'ENOTTY' });
  await again.close();
});

// A worker's clock starts when it is created; a child's when it says it is ready (starting node can take seconds
// in a slow guest), so only the worker can be given too little time by a call that answers at once.
it('gives up on a call that does not answer in time, without waiting for it', async () => {
  const fd = openSync('/dev/null', 'r');
  try {
    const t0 = Date.now();
    expect(await featureCallWithWatchdog(fd, featureCall(), 1, 'worker')).toEqual({ done: false });
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
