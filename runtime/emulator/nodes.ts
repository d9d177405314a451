/** Where the placeholder device nodes live inside the supervisor's placeholder directory. */
import { join } from 'node:path';

export const GROUP_NUMBER_BASE = 100;

export function nodePaths(dir: string) {
  return {
    container: join(dir, 'dev/vfio/vfio'),
    iommufd: join(dir, 'dev/iommu'),
    group: (index: number) => join(dir, `dev/vfio/${GROUP_NUMBER_BASE + index}`),
    cdev: (index: number) => join(dir, `dev/vfio/devices/vfio${index}`),
  };
}

/** The name GROUP_GET_DEVICE_FD expects: a PCI address (mdev devices have a UUID on real systems). */
export function groupDeviceName(index: number): string {
  return `0000:ee:${index.toString(16).padStart(2, '0')}.0`;
}
