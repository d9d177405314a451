/**
 * The emulated VFIO device (contract in api.ts): a seccomp supervisor whose handler is the device model of
 * device-handler.ts. Only this process's threads see the emulated nodes (the filter is per process, and
 * only covers the thread that starts it and threads created later).
 */
import type { DeviceSnapshot, EmulatedDeviceOptions, EmulatorHandle, Fault } from './api.js';
import type { EmulatorHandlerOptions, EmulatorMessage } from './device-handler.js';
import { groupDeviceName, nodePaths } from './nodes.js';
import { startSupervisor } from './seccomp/supervisor.js';
import { siblingModule } from '../worker.js';

export * from './api.js';
export { QUIRK_BREAKS, type QuirkEffect } from './quirks.js';

export async function startEmulator({ devices }: { devices: EmulatedDeviceOptions[] }): Promise<EmulatorHandle> {
  const handlerOptions: EmulatorHandlerOptions = { devices };
  const supervisor = await startSupervisor(siblingModule(import.meta.url, 'device-handler'), { handlerOptions });
  const paths = nodePaths(supervisor.placeholderDir);
  const send = (m: EmulatorMessage) => supervisor.message(m);
  return {
    containerPath: paths.container,
    iommufdPath: paths.iommufd,
    devices: devices.map((d, index) => ({
      index,
      personality: d.personality,
      quirks: [...(d.quirks ?? [])],
      cdevPath: paths.cdev(index),
      groupPath: paths.group(index),
      groupDeviceName: groupDeviceName(index),
    })),
    async inject(device: number, fault: Fault) {
      await send({ type: 'inject', device, fault });
    },
    async snapshot(device: number) {
      return (await send({ type: 'snapshot', device })) as DeviceSnapshot;
    },
    stop: () => supervisor.stop(),
  };
}
