import { kernelFix } from '../dsl/index.js';

/**
 * STOP_COPY → PRE_COPY and STOP_COPY → PRE_COPY_P2P on a device with PRE_COPY. The kernel's table answers
 * ERROR for them, and ERROR needs every capability bit (~0U), so the loop in `vfio_mig_get_next_state`
 * that skips states the device lacks looked up ERROR → ERROR forever, holding the driver's state mutex (a
 * soft lockup). The fix ends that loop at ERROR, so the request is refused with EINVAL and the device stays
 * in STOP_COPY. Devices without PRE_COPY were never affected: the core refuses a target state they lack
 * before it reads the table.
 */
export const blockedArcEinval = kernelFix('blocked-arc-einval', {
  commit: 'a26b499b757c',
  subject: 'vfio: prevent infinite loop in vfio_mig_get_next_state() on blocked arc',
  date: '2026-06-02',
  merged: '2026-06-17',
  fixedIn: { mainline: '7.2', stable: ['6.12.96'] },
  fixes: {
    commit: '4db52602a607',
    subject: 'vfio: Extend the device migration protocol with PRE_COPY',
    release: '6.2',
  },
  before: 'hang',
  after: 'EINVAL',
  about:
    'a request for a blocked arc (STOP_COPY to PRE_COPY or PRE_COPY_P2P) on a PRE_COPY device never returned; it now fails with EINVAL and the device stays in STOP_COPY',
  stepAlgorithm: 'skip-loop-stops-at-error',
  sources: [
    'kvm@vger.kernel.org, 2 Jun 2026, "[PATCH] vfio: prevent infinite loop in vfio_mig_get_next_state() on blocked arc" (Junrui Luo; Fixes: 4db52602a607, Cc: stable); the diff adds a stop at VFIO_DEVICE_STATE_ERROR to the skip loop',
    'kvm@vger.kernel.org / stable@vger.kernel.org, 3 Jun 2026, "RE: [PATCH] vfio: prevent infinite loop in vfio_mig_get_next_state() on blocked arc" (Kevin Tian, Reviewed-by)',
    'torvalds/linux post-receive, 17 Jun 2026: a26b499b757c "vfio: prevent infinite loop in vfio_mig_get_next_state() on blocked arc", merged with tag vfio-v7.2-rc1',
    'stable/linux-stable-rc post-receive, 17 Jul 2026: linux-6.12.y carries it as 665c969681f0; Debian 6.12.96-1 is the first Debian 6.12 kernel with it',
    'stable/linux-stable-rc post-receive, 16 Jul 2026: linux-7.1.y carries it as df869ea53487; which 7.1.x release first has it is not recorded here, so every 7.1 release counts as unfixed',
    'real kernels under QEMU with mtty: 6.12.95 soft-locks in vfio_mig_get_next_state; 6.12.117 and 7.3.4 answer EINVAL within about 20 ms and stay in STOP_COPY',
  ],
});
