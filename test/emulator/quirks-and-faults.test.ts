/** Each quirk breaks its one rule; injected faults hit the next matching call. */
import { closeSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VFIO_DEVICE_GET_INFO } from '../../generated/constants.js';
import {
  QUIRK_BREAKS,
  QUIRKS,
  startEmulator,
  type EmulatedDeviceOptions,
  type EmulatorHandle,
} from '../../runtime/emulator/index.js';
import {
  feature,
  getState,
  openViaGroup,
  precopyInfo,
  rawIoctl,
  readAll,
  readOnce,
  setState,
  State,
  writeAll,
} from './raw.js';

const devices: EmulatedDeviceOptions[] = [
  { personality: 'mtty', quirks: ['enomsg-in-stop-copy'] },
  { personality: 'mtty', quirks: ['precopy-info-in-stop-copy'] },
  { personality: 'mlx5', quirks: ['dirty-bytes-always-zero'], stateSize: 1 << 16 },
  { personality: 'mlx5', quirks: ['no-precopy-info'], stateSize: 1 << 16 },
  { personality: 'mtty', quirks: ['wrong-argsz-writeback'] },
  { personality: 'mtty', quirks: ['interior-fd'] },
  { personality: 'mtty', quirks: ['transition-eio'] },
  { personality: 'mlx5', quirks: ['short-reads'], stateSize: 1 << 20 },
  { personality: 'hisi-acc', quirks: ['resume-rejects'] },
  { personality: 'hisi-acc' },
  { personality: 'mlx5', stateSize: 1 << 20 },
];
let emu: EmulatorHandle;
const dev: number[] = [];

beforeAll(async () => {
  emu = await startEmulator({ devices });
  for (const d of emu.devices)
    dev.push(openViaGroup(emu.containerPath, d.groupPath, d.groupDeviceName).device as number);
});
afterAll(() => emu.stop());

describe('quirks', () => {
  it('every quirk names the rule it breaks, or why it is legal', () => {
    expect(Object.keys(QUIRK_BREAKS).sort()).toEqual([...QUIRKS].sort());
    const legal = QUIRKS.filter((q) => 'legal' in QUIRK_BREAKS[q]);
    expect(legal).toEqual(['short-reads']);
  });

  it('enomsg-in-stop-copy: ENOMSG at the end of STOP_COPY (stream.eof)', () => {
    const s = setState(dev[0]!, State.STOP_COPY);
    expect(readAll(s.dataFd)).toMatchObject({ end: 'ENOMSG' });
    expect(readOnce(s.dataFd).ret).toBe(0);
    closeSync(s.dataFd);
  });

  it('precopy-info-in-stop-copy: PRECOPY_INFO answers in STOP_COPY (precopy.valid_states)', () => {
    const s = setState(dev[1]!, State.STOP_COPY);
    expect(precopyInfo(s.dataFd)).toMatchObject({ ret: 0, dirty: 96n });
    closeSync(s.dataFd);
  });

  it('dirty-bytes-always-zero: new data arrives but dirty_bytes stays 0 (precopy.accounting)', () => {
    const s = setState(dev[2]!, State.PRE_COPY);
    readAll(s.dataFd);
    expect(precopyInfo(s.dataFd)).toMatchObject({ ret: 0, initial: 0n, dirty: 0n });
    expect(readAll(s.dataFd).data.length).toBeGreaterThan(0);
    closeSync(s.dataFd);
  });

  it('no-precopy-info: claims PRE_COPY, the ioctl is ENOTTY (precopy.mandatory)', () => {
    expect(
      feature(dev[3]!, 'VFIO_DEVICE_FEATURE_MIGRATION', 'GET', Buffer.alloc(8)).payload.readBigUInt64LE(0) & 4n,
    ).toBe(4n);
    const s = setState(dev[3]!, State.PRE_COPY);
    expect(precopyInfo(s.dataFd).ret).toBe('ENOTTY');
    closeSync(s.dataFd);
  });

  it('wrong-argsz-writeback: GET_INFO writes past argsz (struct.argsz)', () => {
    const info = Buffer.alloc(24, 0xee);
    info.writeUInt32LE(16, 0);
    expect(rawIoctl(dev[4]!, VFIO_DEVICE_GET_INFO, info)).toBe(0);
    expect(info.readUInt32LE(16)).toBe(0);
  });

  it('interior-fd: a multi-arc request that should return −1 returns an fd (mig.state.set.fd)', () => {
    const s = setState(dev[5]!, State.STOP); // RUNNING → RUNNING_P2P → STOP
    expect(s.ret).toBe(0);
    expect(s.dataFd).toBeGreaterThanOrEqual(1000);
    closeSync(s.dataFd);
  });

  it('transition-eio: PRE_COPY_P2P → STOP_COPY fails with EIO (mig.state.set.fd) and leaves ERROR until reset', () => {
    const s = setState(dev[6]!, State.PRE_COPY);
    expect(setState(dev[6]!, State.STOP_COPY)).toMatchObject({ ret: 'EIO', dataFd: -1 });
    expect(getState(dev[6]!).state).toBe(State.ERROR);
    expect(readOnce(s.dataFd).ret).toBe('ENODEV');
    expect(setState(dev[6]!, State.RUNNING).ret).toBe('EINVAL'); // ERROR is left only by reset
    expect(rawIoctl(dev[6]!, 0x3b6f, 0)).toBe(0);
    expect(getState(dev[6]!).state).toBe(State.RUNNING);
    closeSync(s.dataFd);
  });

  it('short-reads (legal): reads return fewer bytes than asked, the stream stays whole', () => {
    const s = setState(dev[7]!, State.STOP_COPY);
    const first = readOnce(s.dataFd);
    expect(first.ret).toBe(4093);
    const rest = readAll(s.dataFd);
    expect(first.data.length + rest.data.length).toBeGreaterThan(1 << 20);
    expect(rest.end).toBe(0);
    closeSync(s.dataFd);
  });

  it('resume-rejects: a valid stream is refused at RESUMING → STOP (stream.resume)', () => {
    const out = setState(dev[9]!, State.STOP_COPY);
    const { data } = readAll(out.dataFd);
    expect(data.length).toBe(176);
    const r = setState(dev[8]!, State.RESUMING);
    expect(writeAll(r.dataFd, data)).toBe(0);
    expect(setState(dev[8]!, State.STOP).ret).toBe('EFAULT');
    expect(getState(dev[8]!).state).toBe(State.ERROR);
    closeSync(out.dataFd);
    closeSync(r.dataFd);
  });
});

describe('faults', () => {
  it('EINTR and EAGAIN on the next reads/writes, then normal service', async () => {
    const d = dev[10]!;
    await emu.inject(10, { kind: 'EINTR', on: 'read', times: 2 });
    await emu.inject(10, { kind: 'EAGAIN', on: 'read' });
    const s = setState(d, State.STOP_COPY);
    expect([readOnce(s.dataFd).ret, readOnce(s.dataFd).ret, readOnce(s.dataFd).ret]).toEqual([
      'EINTR',
      'EINTR',
      'EAGAIN',
    ]);
    expect(readAll(s.dataFd).end).toBe(0);
    closeSync(s.dataFd);
    expect(setState(d, State.STOP).ret).toBe(0);
  });

  it('EIO on a chosen arc leaves ERROR; reset recovers', async () => {
    const d = dev[10]!;
    await emu.inject(10, { kind: 'EIO', arc: { from: 'STOP', to: 'STOP_COPY' } });
    expect(setState(d, State.STOP_COPY).ret).toBe('EIO');
    expect(getState(d).state).toBe(State.ERROR);
    expect(rawIoctl(d, 0x3b6f, 0)).toBe(0);
    expect(getState(d).state).toBe(State.RUNNING);
  });

  it('the data fd dies after N bytes (ENODEV)', async () => {
    const d = dev[10]!;
    await emu.inject(10, { kind: 'close-data-fd-early', afterBytes: 1000 });
    const s = setState(d, State.STOP_COPY);
    const r = readAll(s.dataFd);
    expect(r.data.length).toBe(1000);
    expect(r.end).toBe('ENODEV');
    closeSync(s.dataFd);
    expect((await emu.snapshot(10)).openDataFds).toBe(0);
  });

  it('an EAGAIN on write hits the resuming fd once', async () => {
    const d = dev[9]!;
    expect(setState(d, State.STOP).ret).toBe(0);
    const r = setState(d, State.RESUMING);
    await emu.inject(9, { kind: 'EAGAIN', on: 'write' });
    expect(writeAll(r.dataFd, Buffer.alloc(8))).toBe('EAGAIN');
    expect(writeAll(r.dataFd, Buffer.alloc(8))).toBe(0);
    closeSync(r.dataFd);
  });
});
