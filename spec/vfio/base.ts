import { constant, enumeration, fdKind } from '../dsl/index.js';

/** The `_IOC` type byte shared by every VFIO and iommufd ioctl: the ASCII semicolon. */
export const VFIO_TYPE = constant('VFIO_TYPE', 0x3b, { since: '3.6' });

/** First command number of the VFIO ioctls; each ioctl is `VFIO_BASE + k`. */
export const VFIO_BASE = constant('VFIO_BASE', 100, { since: '3.6' });

/** The only API version the container has ever reported; any other value means an unknown interface. */
export const VFIO_API_VERSION = constant('VFIO_API_VERSION', 0, { since: '3.6' });

/** First command number of the iommufd ioctls, chosen above VFIO's range so the two never clash. */
export const IOMMUFD_CMD_BASE = constant('IOMMUFD_CMD_BASE', 0x80, { since: '6.2' });

/** The `_IOC` type byte of iommufd ioctls (the same semicolon as VFIO). */
export const IOMMUFD_TYPE = constant('IOMMUFD_TYPE', 0x3b, { since: '6.2' });

/**
 * Extension and IOMMU-model identifiers a container is asked about with VFIO_CHECK_EXTENSION
 * and set with VFIO_SET_IOMMU. Id 6 was the nesting model; it is now only reserved.
 */
export const vfio_extension = enumeration(
  'vfio_extension',
  {
    TYPE1_IOMMU: 1,
    SPAPR_TCE_IOMMU: 2,
    TYPE1v2_IOMMU: 3,
    DMA_CC_IOMMU: 4,
    EEH: 5,
    SPAPR_TCE_v2_IOMMU: { value: 7, since: '4.2' },
    NOIOMMU_IOMMU: { value: 8, since: '4.5' },
    UNMAP_ALL: { value: 9, since: '5.12' },
    UPDATE_VADDR: { value: 10, since: '5.12' },
  },
  { prefix: 'VFIO_', since: '3.6' },
);

/** The container: `/dev/vfio/vfio`, which owns the IOMMU context of the legacy path. */
export const Container = fdKind('container', { obtainedBy: 'open("/dev/vfio/vfio")', since: '3.6' });

/** An IOMMU group: `/dev/vfio/$GROUP`, attached to a container before its devices can be opened. */
export const Group = fdKind('group', { obtainedBy: 'open("/dev/vfio/$GROUP")', since: '3.6' });

/** A device fd, from VFIO_GROUP_GET_DEVICE_FD or from a bound cdev. */
export const Device = fdKind('device', { obtainedBy: 'VFIO_GROUP_GET_DEVICE_FD or a bound cdev', since: '3.6' });

/** A device character device `/dev/vfio/devices/vfioN`; unusable until bound to an iommufd. */
export const DeviceCdev = fdKind('device_cdev', {
  obtainedBy: 'open("/dev/vfio/devices/vfioN")',
  extends: Device,
  since: '6.6',
});

/** The iommufd: `/dev/iommu`, the newer owner of IO address spaces. */
export const Iommufd = fdKind('iommufd', { obtainedBy: 'open("/dev/iommu")', since: '6.2' });

/**
 * The migration data fd: a stream of opaque device state. Saving states hand out a read-only one,
 * RESUMING a write-only one; the user owns it and must close it.
 */
export const MigrationDataFd = fdKind('migration_data', {
  obtainedBy: 'VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE into a state that opens a session',
  since: '5.18',
});

/** A dma-buf fd exported for a device region. */
export const DmaBufFd = fdKind('dma_buf', { obtainedBy: 'VFIO_DEVICE_FEATURE GET DMA_BUF', since: '6.19' });
