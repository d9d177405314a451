/**
 * The precopy-info ioctl as first proposed, written as an overlay on the 6.2 uAPI that was merged:
 * "[PATCH V6 mlx5-next 15/15] vfio: Extend the device migration protocol with PRE_COPY" (Yishai Hadas,
 * from Jason Gunthorpe; netdev@vger.kernel.org and kvm@vger.kernel.org, 30 Jan 2022, Message-ID
 * 20220130160826.32449-16-yishaih@nvidia.com).
 *
 * It called the ioctl VFIO_DEVICE_MIG_PRECOPY at VFIO_BASE + 22 (VFIO_BASE + 21 was then the
 * VFIO_DEVICE_MIG_SET_STATE ioctl); the overlay keeps today's name so the report lines up item by item, and
 * keeps that number. It said "Support for this ioctl is optional", said nothing that limits it to the
 * PRE_COPY states, asked drivers to "attempt to return estimates so that initial_bytes + dirty_bytes matches
 * the amount of data an immediate transition to STOP_COPY will require", and had no MIG_DATA_SIZE (posted on
 * its own on 20 Oct 2022, merged for 6.2). The next step is ../v7-2022/ (2 Mar 2022).
 */
import { byPointer, ioctl, removed, revision, rule } from '../../../spec/dsl/index.js';
import { Device, MigrationDataFd, VFIO_BASE } from '../../../spec/vfio/base.js';
import { vfio_precopy_info } from '../../../spec/vfio/migration.js';

export * from '../v6.2/index.js';

export const uapiRevision = revision({
  label: 'PRE_COPY as proposed, 30 Jan 2022 ([PATCH V6 mlx5-next 15/15])',
  asOf: '6.2',
});

/** Ask the saving data fd how much initial and dirty data is left. */
export const VFIO_MIG_GET_PRECOPY_INFO = ioctl('VFIO_MIG_GET_PRECOPY_INFO', {
  nr: VFIO_BASE.value + 22,
  on: MigrationDataFd,
  arg: byPointer(vfio_precopy_info),
  since: '6.2',
});

/**
 * The precopy-info ioctl answers on a saving data fd, in the pre-copy states and in STOP_COPY: the proposal
 * limits it to no state, and Jason Gunthorpe's wording of 28 Feb 2022 has both numbers keep going down in
 * STOP_COPY (kvm@vger.kernel.org, "Re: [PATCH v6 09/10] hisi_acc_vfio_pci: Add support for VFIO live
 * migration", 20220228234709.GV219866@nvidia.com).
 */
export const precopyValidStates = rule('precopy.valid_states', {
  since: '6.2',
  kind: 'state-validity',
  op: 'VFIO_MIG_GET_PRECOPY_INFO',
  on: MigrationDataFd,
  validIn: ['PRE_COPY', 'PRE_COPY_P2P', 'STOP_COPY'],
  otherwise: 'EINVAL',
  otherwiseStrength: 'should', // the proposal names no errno for other states
});

/**
 * Support for the precopy-info ioctl is optional, even for a device that advertises PRE_COPY ("Support for
 * this ioctl is optional"; still so in v7 07/10 of 2 Mar 2022; mandatory only in the merged 4db52602a607).
 */
export const precopyMandatory = rule('precopy.mandatory', {
  since: '6.2',
  strength: 'should',
  kind: 'capability',
  ifCaps: ['PRE_COPY'],
  requiresOp: 'VFIO_MIG_GET_PRECOPY_INFO',
});

/**
 * initial_bytes plus dirty_bytes approximate what an immediate move to STOP_COPY would stream; both shrink
 * as the stream is read. Estimates, as the proposal says ("Drivers should attempt to return estimates").
 */
export const precopyAccounting = rule('precopy.accounting', {
  since: '6.2',
  kind: 'behaviour',
  strength: 'estimate',
  tolerance: {
    stated: false,
    note: 'the proposal asks drivers to "attempt to return estimates" matching the STOP_COPY volume, with no bound',
  },
});

// No MIG_DATA_SIZE yet: the "how big will STOP_COPY be" question was answered by this ioctl.
export const MIG_DATA_SIZE = removed('posted on its own on 20 Oct 2022, merged for 6.2');
export const vfio_device_feature_mig_data_size = removed();
export const dataSizeAnyState = removed();
export const dataSizeMandatory = removed();
export const dataSizeEstimate = removed();

void Device;
