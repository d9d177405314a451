/**
 * The January 2022 RFC of the precopy-info ioctl ([PATCH V6 mlx5-next 15/15], lore
 * 20220130160826.32449-16-yishaih@nvidia.com), written as an overlay on the 6.2 uAPI that was merged.
 *
 * The RFC called the ioctl VFIO_DEVICE_MIG_PRECOPY at VFIO_BASE + 22; the overlay keeps today's name so
 * the report lines up item by item, and keeps the RFC's number. It called support optional, let the
 * ioctl answer in STOP_COPY too, and had no MIG_DATA_SIZE (that came in October 2022).
 */
import { byPointer, ioctl, removed, revision, rule } from '../../../spec/dsl/index.js';
import { Device, MigrationDataFd, VFIO_BASE } from '../../../spec/vfio/base.js';
import { vfio_precopy_info } from '../../../spec/vfio/migration.js';

export * from '../v6.2/index.js';

export const uapiRevision = revision({ label: 'RFC, Jan 2022 (PATCH V6 15/15)', asOf: '6.2' });

/** Ask the saving data fd how much initial and dirty data is left. */
export const VFIO_MIG_GET_PRECOPY_INFO = ioctl('VFIO_MIG_GET_PRECOPY_INFO', {
  nr: VFIO_BASE.value + 22,
  on: MigrationDataFd,
  arg: byPointer(vfio_precopy_info),
  since: '6.2',
});

/** The precopy-info ioctl answers on a saving data fd, in the pre-copy states and in STOP_COPY. */
export const precopyValidStates = rule('precopy.valid_states', {
  since: '6.2',
  kind: 'state-validity',
  op: 'VFIO_MIG_GET_PRECOPY_INFO',
  on: MigrationDataFd,
  validIn: ['PRE_COPY', 'PRE_COPY_P2P', 'STOP_COPY'],
  otherwise: 'EINVAL',
});

/** Support for the precopy-info ioctl is optional, even for a device that advertises PRE_COPY. */
export const precopyMandatory = rule('precopy.mandatory', {
  since: '6.2',
  strength: 'should',
  kind: 'capability',
  ifCaps: ['PRE_COPY'],
  requiresOp: 'VFIO_MIG_GET_PRECOPY_INFO',
});

/**
 * initial_bytes plus dirty_bytes approximate what an immediate move to STOP_COPY would stream;
 * both shrink as the stream is read.
 */
export const precopyAccounting = rule('precopy.accounting', { since: '6.2', kind: 'behaviour' });

// No MIG_DATA_SIZE yet: the "how big will STOP_COPY be" question was answered by this ioctl.
export const MIG_DATA_SIZE = removed('added in Oct 2022, after the review');
export const vfio_device_feature_mig_data_size = removed();
export const dataSizeAnyState = removed();
export const dataSizeMandatory = removed();

void Device;
