/**
 * The precopy-info ioctl after the first review, written as an overlay on the proposal (../rfc-2022/):
 * "[PATCH v7 07/10] vfio: Extend the device migration protocol with PRE_COPY" (Shameer Kolothum, from Jason
 * Gunthorpe; kvm@vger.kernel.org, 2 Mar 2022, Message-ID 20220302172903.1995-8-shameerali.kolothum.thodi@huawei.com).
 *
 * What the review had asked for, message by message (all kvm@vger.kernel.org, thread "Re: [PATCH v6 09/10]
 * hisi_acc_vfio_pci: Add support for VFIO live migration"):
 * - 1 Mar 2022, Alex Williamson replying to Jason Gunthorpe (20220301123047.1171c730.alex.williamson@redhat.com):
 *   "let's define that this ioctl is only valid in PRE_COPY* states and return -errno in STOP_COPY".
 * - 1 Mar 2022, Alex Williamson (20220301154431.42b27278.alex.williamson@redhat.com): name it
 *   VFIO_MIG_GET_PRECOPY_INFO, its struct vfio_precopy_info.
 * - 1 Mar 2022 20:03 -0400, Jason Gunthorpe (20220302000329.GZ219866@nvidia.com): "lets block it if you prefer".
 * - 2 Mar 2022, Shameer Kolothum's summary (635f11c40e814d749ccf533f1414ba4e@huawei.com): "only valid in
 *   PRE_COPY state and should return -EINVAL in other states".
 *
 * This revision is where the EINVAL-outside-PRE_COPY rule first appears: "This ioctl is valid only in
 * VFIO_DEVICE_STATE_PRE_COPY state and kernel driver should return -EINVAL from any other migration state",
 * at VFIO_BASE + 21, still "Support for this ioctl is optional". Williamson's review of it the same day
 * ("Re: [PATCH v7 07/10]", 20220302133159.3c803f56.alex.williamson@redhat.com) answered "Nit, PRE_COPY and
 * PRE_COPY_P2P": the "PRE_COPY states" of the merged text (4db52602a607, 6.2) come from that follow-up.
 */
import { rule, revision } from '../../../spec/dsl/index.js';
import { MigrationDataFd } from '../../../spec/vfio/base.js';

export * from '../rfc-2022/index.js';
export { VFIO_MIG_GET_PRECOPY_INFO } from '../../../spec/vfio/migration.js';

export const uapiRevision = revision({
  label: 'after review, 2 Mar 2022 ([PATCH v7 07/10])',
  asOf: '6.2',
});

/** The precopy-info ioctl answers only in PRE_COPY; any other state gets EINVAL (PRE_COPY_P2P not yet named). */
export const precopyValidStates = rule('precopy.valid_states', {
  since: '6.2',
  kind: 'state-validity',
  op: 'VFIO_MIG_GET_PRECOPY_INFO',
  on: MigrationDataFd,
  validIn: ['PRE_COPY'],
  otherwise: 'EINVAL',
  otherwiseStrength: 'should', // "kernel driver should return -EINVAL", as merged
});
