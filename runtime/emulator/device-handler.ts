/**
 * The seccomp handler module for the emulator (loaded inside the supervisor worker): creates the placeholder
 * nodes and routes each trapped call to the container/group, cdev/iommufd, device fd or data fd model.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EmulatedDeviceOptions, Fault } from './api.js';
import { CdevPath } from './cdev.js';
import { LegacyPath, type GroupState } from './container.js';
import { dataFdClosed, dataFdIoctl, dataFdOther, dataFdRead, dataFdWrite } from './data-fd.js';
import { deviceIoctl, deviceOther } from './device-ioctls.js';
import { DeviceModel } from './device-model.js';
import type { DataFdTag } from './migration.js';
import { nodePaths } from './nodes.js';
import { CONTINUE, fail, type HandlerEnvironment, type SyscallHandler } from './seccomp/handler.js';
import { Errno } from '../sys/errno.js';

export interface EmulatorHandlerOptions {
  devices: EmulatedDeviceOptions[];
}

export type EmulatorMessage = { type: 'inject'; device: number; fault: Fault } | { type: 'snapshot'; device: number };

type Tag = { kind: 'device'; device: DeviceModel } | DataFdTag;

function touch(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '');
}

export default function createEmulatorHandler(env: HandlerEnvironment): SyscallHandler {
  const options = env.options as EmulatorHandlerOptions;
  const paths = nodePaths(env.placeholderDir);
  const devices = options.devices.map((d, i) => new DeviceModel(i, d, paths.cdev(i)));
  const groups = new Map<string, GroupState>();
  const cdevs = new Map<string, DeviceModel>();
  touch(paths.container);
  touch(paths.iommufd);
  for (const device of devices) {
    const group = paths.group(device.index);
    const cdev = paths.cdev(device.index);
    touch(group);
    touch(cdev);
    groups.set(group, { device, devicePath: cdev, container: undefined });
    cdevs.set(cdev, device);
  }
  const legacy = new LegacyPath(paths.container, paths.iommufd);
  const cdevPath = new CdevPath(env, paths.iommufd);

  const deviceAt = (index: number) => {
    const d = devices[index];
    if (!d) throw new Error(`no emulated device ${index}`);
    return d;
  };

  return {
    ioctl(call) {
      if (call.target.kind === 'installed') {
        const tag = call.target.tag as Tag;
        return tag.kind === 'device' ? deviceIoctl(env, call, tag.device) : dataFdIoctl(call, tag);
      }
      const path = call.target.path;
      if (path === paths.container) return legacy.containerIoctl(call);
      if (path === paths.iommufd) return cdevPath.iommufdIoctl(call);
      const group = groups.get(path);
      if (group) return legacy.groupIoctl(call, group);
      const cdev = cdevs.get(path);
      if (cdev) return cdevPath.cdevIoctl(call, cdev);
      return fail(Errno.ENOTTY);
    },
    read(call) {
      const tag = call.target.kind === 'installed' ? (call.target.tag as Tag) : undefined;
      if (tag?.kind === 'data') return dataFdRead(call, tag);
      return tag?.kind === 'device' ? fail(Errno.EINVAL) : CONTINUE;
    },
    write(call) {
      const tag = call.target.kind === 'installed' ? (call.target.tag as Tag) : undefined;
      if (tag?.kind === 'data') return dataFdWrite(call, tag);
      return tag?.kind === 'device' ? fail(Errno.EINVAL) : CONTINUE;
    },
    other(call) {
      const tag = call.target.kind === 'installed' ? (call.target.tag as Tag) : undefined;
      if (tag?.kind === 'data') return dataFdOther(call, tag);
      if (tag?.kind === 'device')
        return call.syscall === 'fstat' || call.syscall === 'fcntl' ? CONTINUE : deviceOther(call, tag.device);
      return CONTINUE;
    },
    close(call) {
      const tag = call.target.kind === 'installed' ? (call.target.tag as Tag) : undefined;
      if (tag?.kind === 'data') dataFdClosed(tag);
      if (tag?.kind === 'device') tag.device.releaseClosed(call.fd);
    },
    message(payload) {
      const m = payload as EmulatorMessage;
      if (m.type === 'inject') {
        deviceAt(m.device).faults.add(m.fault);
        return null;
      }
      return deviceAt(m.device).snapshot();
    },
  };
}
