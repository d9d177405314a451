/**
 * The QEMU mode and the multi-device migration, checked against the SETs the emulated devices received (their
 * request logs, merged by sequence number) — the order of QEMU's hw/vfio/migration.c and system/runstate.c
 * vm_state_notify (hw/vfio/migration.c at qemu/qemu 019d9e6c; the prepare callbacks of QEMU 8.1 and later): save_setup in order, the prepare callbacks (to the P2P states) in
 * reverse order for every device before any state-change callback (to STOP_COPY) runs, again in reverse; on the
 * destination RESUMING in order, then RUNNING_P2P for every P2P device before any goes to RUNNING, in order.
 * Two mlx5 (P2P) and one hisi-acc (no P2P) form the VM-like group.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  migrate,
  migrateGroup,
  MigrationSession,
  openDevices,
  qemuWaypoints,
  VfioError,
  type Device,
  type DeviceOutcome,
} from '../../runtime/index.js';

let a: Device, b: Device, c: Device, a2: Device, b2: Device, c2: Device;
beforeAll(async () => {
  // A tuple of designators gives a tuple of devices: no `!` needed below (noUncheckedIndexedAccess is on).
  [a, b, c, a2, b2, c2] = await openDevices(
    ['emulated:mlx5', 'emulated:mlx5', 'emulated:hisi-acc', 'emulated:mlx5', 'emulated:mlx5', 'emulated:hisi-acc'],
    { stateSize: 256 << 10 },
  );
});
afterAll(async () => {
  for (const d of [a, b, c, a2, b2, c2]) await d.close();
});

const names = new Map<Device, string>();
beforeAll(() => {
  for (const [d, n] of [
    [a, 'A'],
    [b, 'B'],
    [c, 'C'],
    [a2, "A'"],
    [b2, "B'"],
    [c2, "C'"],
  ] as const)
    names.set(d, n);
});

/** Every SET the devices received after `marks`, merged in the order they were sent: `A PRE_COPY`… */
async function setsSince(devices: Device[], marks: Map<Device, number>): Promise<string[]> {
  const all: { seq: number; text: string }[] = [];
  for (const d of devices)
    for (const r of (await d.snapshot())!.requests)
      if (r.seq > (marks.get(d) ?? 0)) all.push({ seq: r.seq, text: `${names.get(d)} ${r.state}` });
  return all.sort((x, y) => x.seq - y.seq).map((x) => x.text);
}

async function mark(devices: Device[]): Promise<Map<Device, number>> {
  const m = new Map<Device, number>();
  for (const d of devices) m.set(d, (await d.snapshot())!.requests.at(-1)?.seq ?? 0);
  return m;
}

it('QEMU waypoints: through the P2P states when the device has them, one SET each', () => {
  expect(qemuWaypoints('STOP_COPY+P2P+PRE_COPY', 'PRE_COPY', 'STOP_COPY')).toEqual(['PRE_COPY_P2P', 'STOP_COPY']);
  expect(qemuWaypoints('STOP_COPY+P2P+PRE_COPY', 'RESUMING', 'RUNNING')).toEqual(['RUNNING_P2P', 'RUNNING']);
  expect(qemuWaypoints('STOP_COPY+P2P', 'RUNNING', 'STOP_COPY')).toEqual(['RUNNING_P2P', 'STOP', 'STOP_COPY']);
  expect(qemuWaypoints('STOP_COPY+PRE_COPY', 'PRE_COPY', 'STOP_COPY')).toEqual(['STOP_COPY']);
  expect(qemuWaypoints('STOP_COPY+PRE_COPY', 'RESUMING', 'RUNNING')).toEqual(['RUNNING']);
  expect(qemuWaypoints('STOP_COPY+P2P+PRE_COPY', 'RUNNING', 'RESUMING')).toEqual(['RESUMING']);
  expect(qemuWaypoints('STOP_COPY+P2P+PRE_COPY', 'STOP_COPY', 'STOP')).toEqual(['STOP']);
});

it.each([
  [
    'qemu',
    'mlx5',
    ['A PRE_COPY', 'A PRE_COPY_P2P', 'A STOP_COPY', 'A STOP'],
    ["A' RESUMING", "A' RUNNING_P2P", "A' RUNNING"],
  ],
  ['qemu', 'hisi-acc', ['C PRE_COPY', 'C STOP_COPY', 'C STOP'], ["C' RESUMING", "C' RUNNING"]],
  ['direct', 'mlx5', ['A PRE_COPY', 'A STOP_COPY', 'A STOP'], ["A' RESUMING", "A' RUNNING"]],
] as const)('migrate in %s mode (%s): the SETs each side receives', async (mode, personality, source, destination) => {
  const [src, dst] = personality === 'mlx5' ? [a, a2] : [c, c2];
  const marks = await mark([src, dst]);
  const r = await migrate(src, dst, { session: { mode } });
  expect(r.verification.equal).toBe(true);
  expect(await setsSince([src], marks)).toEqual(source);
  expect(await setsSince([dst], marks)).toEqual(destination);
  // Back to a running source for the next case.
  const s = MigrationSession.open(src);
  s.moveTo('RUNNING');
  s.close();
});

it('a group of two mlx5 and one hisi-acc migrates in QEMU order, with one report', async () => {
  const sources = [a, b, c];
  const destinations = [a2, b2, c2];
  const marks = await mark([...sources, ...destinations]);
  const r = await migrateGroup(
    [
      [a, a2],
      [b, b2],
      [c, c2],
    ],
    { session: { mode: 'qemu' } },
  );
  expect(await setsSince(sources, marks)).toEqual([
    'A PRE_COPY',
    'B PRE_COPY',
    'C PRE_COPY',
    // the prepare callbacks, reverse order, P2P devices only
    'B PRE_COPY_P2P',
    'A PRE_COPY_P2P',
    // then the state-change callbacks, reverse order
    'C STOP_COPY',
    'B STOP_COPY',
    'A STOP_COPY',
    // save_cleanup, in order
    'A STOP',
    'B STOP',
    'C STOP',
  ]);
  expect(await setsSince(destinations, marks)).toEqual([
    "A' RESUMING",
    "B' RESUMING",
    "C' RESUMING",
    "A' RUNNING_P2P",
    "B' RUNNING_P2P",
    "A' RUNNING",
    "B' RUNNING",
    "C' RUNNING",
  ]);
  // The report's own log says the same, sides interleaved as sent.
  expect(r.sets.filter((s) => s.startsWith('source'))).toEqual([
    'source 0 PRE_COPY',
    'source 1 PRE_COPY',
    'source 2 PRE_COPY',
    'source 1 PRE_COPY_P2P',
    'source 0 PRE_COPY_P2P',
    'source 2 STOP_COPY',
    'source 1 STOP_COPY',
    'source 0 STOP_COPY',
    'source 0 STOP',
    'source 1 STOP',
    'source 2 STOP',
  ]);
  expect(r.devices.map((d) => d.verification.equal)).toEqual([true, true, true]);
  expect(r.outcome.map((o) => `${o.role} ${o.state} ${o.action}`)).toEqual([
    'source STOP completed',
    'source STOP completed',
    'source STOP completed',
    'destination RUNNING completed',
    'destination RUNNING completed',
    'destination RUNNING completed',
  ]);
});

it('a failure in the group undoes all of it: every source runs again, every destination is reset', async () => {
  for (const d of [a, b, c]) {
    const s = MigrationSession.open(d);
    s.moveTo('RUNNING');
    s.close();
  }
  const destinations = [a2, b2, c2];
  const before = await Promise.all(destinations.map(async (d) => (await d.snapshot())!.digest));
  // hisi-acc is the first to stop (reverse order): its STOP_COPY fails after both mlx5 reached PRE_COPY_P2P.
  await c.emulator!.handle.inject(c.emulator!.device.index, {
    kind: 'EIO',
    arc: { from: 'PRE_COPY', to: 'STOP_COPY' },
  });
  const e = (await migrateGroup(
    [
      [a, a2],
      [b, b2],
      [c, c2],
    ],
    { session: { mode: 'qemu' } },
  ).catch((x: unknown) => x)) as VfioError;
  expect(e).toBeInstanceOf(VfioError);
  expect(e.side).toEqual({ role: 'source', device: 'emulated:hisi-acc' });
  expect(e.message).toMatch(
    /^source emulated:hisi-acc: VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE=STOP_COPY failed in PRE_COPY: EIO /,
  );
  const outcome = (role: string, device: string, action: string, state = 'RUNNING') =>
    ({ role, device: `emulated:${device}`, state, action }) as DeviceOutcome;
  expect(e.outcome).toEqual([
    outcome('source', 'mlx5', 'returned'),
    outcome('source', 'mlx5', 'returned'),
    outcome('source', 'hisi-acc', 'reset'),
    outcome('destination', 'mlx5', 'reset'),
    outcome('destination', 'mlx5', 'reset'),
    outcome('destination', 'hisi-acc', 'reset'),
  ]);
  for (const d of [a, b, c]) expect(d.state()).toBe('RUNNING');
  const after = await Promise.all(destinations.map(async (d) => (await d.snapshot())!.digest));
  expect(after).toEqual(before);
});
