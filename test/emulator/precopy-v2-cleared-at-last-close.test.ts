/**
 * The PRECOPY_INFOv2 opt-in belongs to one user of the device: the kernel clears it at the device's last
 * close (vfio_df_device_last_close, drivers/vfio/vfio_main.c since 7.1; seen on real 7.3.4 — the kernel-fact
 * fixture test/fixtures/kernel-facts/vfio-migration-uapi.json, feature 12). The device's open count counts
 * open files that opened it: legacy device fds and cdev fds once bound, dups of one file once. Before the
 * opt-in PRECOPY_INFO leaves `flags` as the caller wrote it; after it, the kernel owns `flags` (0 here).
 */
import { closeSync, openSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VFIO_GROUP_GET_DEVICE_FD } from '../../generated/constants.js';
import { startEmulator, type EmulatorHandle } from '../../runtime/emulator/index.js';
import { fcntl } from '../../runtime/sys/libc.js';
import { feature, openCdevRaw, openViaGroup, precopyInfo, rawIoctl, setState, State } from './raw.js';

/** fcntl F_DUPFD (include/uapi/asm-generic/fcntl.h): a new fd for the same open file. */
const F_DUPFD = 0;
/** What the caller writes into `flags`: every bit but REINIT, so an echo and a zeroed answer differ. */
const CALLER_FLAGS = 0xfffffffe;

let emu: EmulatorHandle;
let iommufd: number;
beforeAll(async () => {
  emu = await startEmulator({
    devices: [{ personality: 'mtty' }, { personality: 'mtty' }, { personality: 'mtty' }, { personality: 'mtty' }],
  });
  iommufd = openSync(emu.iommufdPath, 'r+');
});
afterAll(async () => {
  closeSync(iommufd);
  await emu.stop();
});

/** RUNNING → PRE_COPY, one PRECOPY_INFO with CALLER_FLAGS, back to RUNNING: the `flags` it answered. */
function flagsAnswered(device: number): number {
  const pre = setState(device, State.PRE_COPY);
  expect(pre.ret).toBe(0);
  const info = precopyInfo(pre.dataFd, 24, CALLER_FLAGS);
  expect(info.ret).toBe(0);
  expect(setState(device, State.RUNNING).ret).toBe(0);
  closeSync(pre.dataFd);
  return info.flags;
}

const optIn = (device: number) => expect(feature(device, 'VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2', 'SET').ret).toBe(0);

/** Another device fd from the group (a second open file of the device). */
function deviceFdFrom(group: number, name: string): number {
  const fd = rawIoctl(group, VFIO_GROUP_GET_DEVICE_FD, Buffer.from(name + '\0'));
  expect(typeof fd).toBe('number');
  return fd as number;
}

/** The cdev of emulated device `index`, bound and attached unless `bind` is false. */
const openCdev = (index: number, bind = true) => openCdevRaw(emu.devices[index]!.cdevPath, iommufd, bind);

describe('the PRECOPY_INFOv2 opt-in is cleared at the device’s last close', () => {
  it('legacy path: kept while any device fd (or a dup of one) is open, gone once every one is closed', () => {
    const d = emu.devices[0]!;
    const { group, device: first } = openViaGroup(emu.containerPath, d.groupPath, d.groupDeviceName);
    const one = first as number;
    expect(flagsAnswered(one)).toBe(CALLER_FLAGS); // no opt-in yet: the caller's flags come back
    optIn(one);
    expect(flagsAnswered(one)).toBe(0);

    const two = deviceFdFrom(group, d.groupDeviceName);
    closeSync(one); // not the last close: `two` keeps the device open
    expect(flagsAnswered(two)).toBe(0);

    const dup = fcntl(two, F_DUPFD, 0);
    expect(dup).toBeGreaterThanOrEqual(0);
    closeSync(two); // the open file lives on in its dup
    const three = deviceFdFrom(group, d.groupDeviceName);
    expect(flagsAnswered(three)).toBe(0);
    closeSync(three);
    closeSync(dup); // the last fd of the last open file

    const four = deviceFdFrom(group, d.groupDeviceName);
    expect(flagsAnswered(four)).toBe(CALLER_FLAGS); // a new user starts without the opt-in
    optIn(four);
    expect(flagsAnswered(four)).toBe(0);
    closeSync(four);
    closeSync(group);
  });

  it('cdev path: a bound cdev fd counts, an unbound one does not; reopening after the last close starts over', () => {
    const a = openCdev(1);
    optIn(a);
    expect(flagsAnswered(a)).toBe(0);
    const b = openCdev(1);
    closeSync(a); // `b` is bound: still open
    expect(flagsAnswered(b)).toBe(0);
    const unbound = openCdev(1, false);
    closeSync(b); // only an unbound open is left: that was the last close
    const c = openCdev(1);
    expect(flagsAnswered(c)).toBe(CALLER_FLAGS);
    closeSync(c);
    closeSync(unbound);
  });

  it('both paths count toward one device: closing the legacy fd while a cdev fd is bound is not the last close', () => {
    const d = emu.devices[2]!;
    const { group, device } = openViaGroup(emu.containerPath, d.groupPath, d.groupDeviceName);
    const legacy = device as number;
    const cdev = openCdev(2);
    optIn(legacy);
    closeSync(legacy);
    expect(flagsAnswered(cdev)).toBe(0);
    closeSync(cdev);
    const again = openCdev(2);
    expect(flagsAnswered(again)).toBe(CALLER_FLAGS);
    closeSync(again);
    closeSync(group);
  });

  it('without any close the opt-in stays across data sessions', () => {
    const d = openCdev(3);
    optIn(d);
    for (let i = 0; i < 3; i++) expect(flagsAnswered(d)).toBe(0);
    closeSync(d);
  });
});
