import { rule } from '../dsl/index.js';
import { Container, Device, DeviceCdev, Group, Iommufd, MigrationDataFd } from './base.js';

const FEATURE = 'VFIO_DEVICE_FEATURE';
const PRECOPY = 'VFIO_MIG_GET_PRECOPY_INFO';

// ---- VFIO_DEVICE_FEATURE: the checks the core makes, in the order it makes them ----

/** The 8-byte header must be readable. */
export const featureHeaderFault = rule('feature.hdr.fault', {
  since: '5.7',
  kind: 'errno',
  op: FEATURE,
  on: Device,
  condition: 'header not readable',
  errno: 'EFAULT',
  order: 1,
});

/** argsz must cover at least the header. */
export const featureHeaderMinsz = rule('feature.hdr.minsz', {
  since: '5.7',
  kind: 'errno',
  op: FEATURE,
  on: Device,
  condition: 'argsz < 8',
  errno: 'EINVAL',
  order: 2,
});

/** Flag bits other than the index, GET, SET and PROBE are refused. */
export const featureUnknownFlags = rule('feature.flags.unknown', {
  since: '5.7',
  kind: 'errno',
  op: FEATURE,
  on: Device,
  condition: 'flags outside MASK|GET|SET|PROBE',
  errno: 'EINVAL',
  order: 3,
});

/** GET and SET together only make sense as a PROBE of both. */
export const featureGetAndSet = rule('feature.get_and_set', {
  since: '5.7',
  kind: 'errno',
  op: FEATURE,
  on: Device,
  condition: 'GET and SET without PROBE',
  errno: 'EINVAL',
  order: 4,
});

/** An index neither the core nor the driver knows is refused as "no such ioctl". */
export const featureUnknownIndex = rule('feature.unknown_index', {
  since: '5.7',
  kind: 'errno',
  op: FEATURE,
  on: Device,
  condition: 'index unknown to core and driver',
  errno: 'ENOTTY',
  order: 5,
  doc: 'Kernels before the 2025 fix answered EINVAL when the driver had no feature op.',
});

/** A migration or logging feature on a device without that support is refused before any other check. */
export const featureMissingSupport = rule('feature.needs', {
  since: '5.18',
  kind: 'errno',
  op: FEATURE,
  on: Device,
  condition: 'device lacks what the feature needs',
  errno: 'ENOTTY',
  order: 6,
  doc: 'MIG_PRECOPY_INFOv2 on a device without PRE_COPY gives EINVAL instead (its `missing` errno).',
});

/** Asking for an access the feature does not have is refused, even with PROBE. */
export const featureOpUnsupported = rule('feature.check.op', {
  since: '5.18',
  kind: 'errno',
  op: FEATURE,
  on: Device,
  condition: 'GET or SET not supported by the feature',
  errno: 'EINVAL',
  order: 7,
});

/** PROBE answers 0 once the access is supported, without touching the payload (argsz may be 8). */
export const featureProbe = rule('feature.probe', { since: '5.18', kind: 'behaviour' });

/** Without PROBE, one of GET or SET must be given. */
export const featureNoAccess = rule('feature.check.no_access', {
  since: '5.18',
  kind: 'errno',
  op: FEATURE,
  on: Device,
  condition: 'neither GET nor SET',
  errno: 'EINVAL',
  order: 8,
});

/** The payload must be at least the feature's minimum size. */
export const featurePayloadMinsz = rule('feature.check.minsz', {
  since: '5.18',
  kind: 'errno',
  op: FEATURE,
  on: Device,
  condition: 'argsz - 8 < minsz',
  errno: 'EINVAL',
  order: 9,
});

// ---- Migration state ----

/** GET MIG_DEVICE_STATE reports the current state and −1 as the data fd. */
export const migStateGet = rule('mig.state.get', { since: '5.18', kind: 'behaviour' });

/** SET returns a new data fd exactly when the last arc of the path opens a session, −1 otherwise. */
export const migStateSetFd = rule('mig.state.set.fd', { since: '5.18', kind: 'behaviour' });

/** A requested state the device does not support, out of range, or ERROR, is refused. */
export const migStateInvalid = rule('mig.state.set.invalid', {
  since: '5.18',
  kind: 'errno',
  op: 'VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:SET',
  on: Device,
  condition: 'requested state unsupported, out of range or ERROR',
  errno: 'EINVAL',
});

/** STOP_COPY to PRE_COPY or PRE_COPY_P2P is refused (see the state machine's forbidden requests). */
export const migStateForbidden = rule('mig.state.set.forbidden', {
  since: '6.2',
  kind: 'errno',
  op: 'VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:SET',
  on: Device,
  condition: 'forbidden request',
  errno: 'EINVAL',
});

/** After a failed SET the device may be anywhere on the path or in ERROR; ERROR is left only by reset. */
export const migErrorReset = rule('mig.state.error_reset', { since: '5.18', kind: 'behaviour' });

/** VFIO_DEVICE_RESET puts the device in RUNNING and ends any data session. */
export const migResetRunning = rule('mig.reset.running', { since: '5.18', kind: 'behaviour' });

/** PRE_COPY, PRE_COPY_P2P and STOP_COPY share one saving fd; moving among them returns −1. */
export const migSingleSession = rule('mig.fd.single_session', { since: '6.2', kind: 'behaviour' });

/** Once a session ends, its fd answers every call with ENODEV. */
export const migFdEnded = rule('mig.fd.ended', {
  since: '5.18',
  kind: 'errno',
  op: 'read',
  on: MigrationDataFd,
  condition: 'session ended',
  errno: 'ENODEV',
});

/** Data fds are streams: positional I/O fails with ESPIPE. */
export const migFdStream = rule('mig.fd.stream', {
  since: '5.18',
  kind: 'errno',
  op: 'pread',
  on: MigrationDataFd,
  condition: 'positional I/O',
  errno: 'ESPIPE',
});

/** The saving fd is read-only and the resuming fd write-only; the other direction gives EBADF. */
export const migFdDirection = rule('mig.fd.direction', {
  since: '5.18',
  kind: 'errno',
  op: 'write',
  on: MigrationDataFd,
  condition: 'wrong direction',
  errno: 'EBADF',
});

// ---- Capabilities ----

/** P2P and PRE_COPY are only meaningful on top of STOP_COPY; other combinations are undefined. */
export const migCapsBase = rule('mig.caps.stop_copy', {
  since: '5.18',
  kind: 'capability',
  ifCaps: ['P2P'],
  requiresCaps: ['STOP_COPY'],
});

/** PRE_COPY needs STOP_COPY too. */
export const migCapsPreCopyBase = rule('mig.caps.pre_copy_base', {
  since: '6.2',
  kind: 'capability',
  ifCaps: ['PRE_COPY'],
  requiresCaps: ['STOP_COPY'],
});

// ---- Pre-copy information ----

/**
 * The precopy-info ioctl, issued on the saving data fd, answers only while pre-copying. vfio.h: "valid only
 * in PRE_COPY states and kernel driver should return -EINVAL from any other migration state" — the states
 * are a must, the errno a should. (On a resuming fd drivers refuse it too: real mtty on 6.12 answers ENOTTY
 * there, the 7.1 core helper EINVAL.)
 */
export const precopyValidStates = rule('precopy.valid_states', {
  since: '6.2',
  kind: 'state-validity',
  op: PRECOPY,
  on: MigrationDataFd,
  validIn: ['PRE_COPY', 'PRE_COPY_P2P'],
  otherwise: 'EINVAL',
  otherwiseStrength: 'should',
});

/** A device that advertises PRE_COPY must answer the precopy-info ioctl. */
export const precopyMandatory = rule('precopy.mandatory', {
  since: '6.2',
  kind: 'capability',
  ifCaps: ['PRE_COPY'],
  requiresOp: PRECOPY,
});

/** The precopy-info argument must be at least 24 bytes. */
export const precopyArgsz = rule('precopy.args.argsz', {
  since: '6.2',
  kind: 'errno',
  op: PRECOPY,
  on: MigrationDataFd,
  condition: 'argsz < 24',
  errno: 'EINVAL',
});

/** Any other ioctl on the data fd is unknown to it. */
export const precopyWrongCmd = rule('precopy.args.cmd', {
  since: '6.2',
  kind: 'errno',
  op: 'unknown ioctl',
  on: MigrationDataFd,
  condition: 'unknown command',
  errno: 'ENOTTY',
});

/**
 * initial_bytes + dirty_bytes estimate what can be read before the temporary end of pre-copy data, and
 * dirty_bytes starts at zero. vfio.h calls both fields estimates ("It returns an estimate of the current
 * data sizes", "provides estimates of data available") and gives no bound, so conformance reports how
 * close they were ("initial + dirty predicted 24 B, 24 B were readable") and fails nothing.
 */
export const precopyAccounting = rule('precopy.accounting', {
  since: '6.2',
  kind: 'behaviour',
  strength: 'estimate',
  tolerance: {
    stated: false,
    note: 'vfio.h (VFIO_MIG_GET_PRECOPY_INFO) calls initial_bytes and dirty_bytes estimates and states no bound',
  },
});

/**
 * initial_bytes should start non-zero and decrease as migration data is read (vfio.h: "This field should
 * have a non-zero initial value and decrease as migration data is read from the device"). By how much is
 * an estimate (precopy.accounting).
 */
export const precopyInitialBytes = rule('precopy.initial_bytes', {
  since: '6.2',
  kind: 'behaviour',
  strength: 'should',
});

/**
 * When PRECOPY_INFO reports initial_bytes and dirty_bytes both zero the stream is at its temporary end: no
 * data is readable until more is dirtied (vfio.h: the temporary end "is reached when both initial_bytes and
 * dirty_byte are zero"). A should, like the ENOMSG that signals that end, since the numbers are estimates.
 */
export const precopyTemporaryEnd = rule('precopy.temporary_end', {
  since: '6.2',
  kind: 'behaviour',
  strength: 'should',
});

/** The v2 opt-in needs a PRE_COPY device. */
export const precopyV2NeedsPreCopy = rule('precopy.v2.needs_pre_copy', {
  since: '7.1',
  kind: 'errno',
  op: 'VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2:SET',
  on: Device,
  condition: 'device lacks PRE_COPY',
  errno: 'EINVAL',
});

/** After the v2 opt-in, flags comes back zero unless REINIT is reported; REINIT restarts initial_bytes. */
export const precopyV2Flags = rule('precopy.v2.flags', { since: '7.1', kind: 'behaviour' });

// ---- Data stream ----

/** While pre-copying, a read at the temporary end of data should fail with ENOMSG. */
export const streamEnomsg = rule('stream.enomsg', {
  since: '6.2',
  strength: 'should',
  kind: 'stream',
  io: 'read',
  on: MigrationDataFd,
  perState: {
    PRE_COPY: { allowed: true, end: 'ENOMSG' },
    PRE_COPY_P2P: { allowed: true, end: 'ENOMSG' },
  },
});

/** In STOP_COPY the end of the state is read() == 0, for good; ENOMSG is not allowed there. */
export const streamEof = rule('stream.eof', {
  since: '5.18',
  kind: 'stream',
  io: 'read',
  on: MigrationDataFd,
  perState: { STOP_COPY: { allowed: true, end: 'EOF', never: ['ENOMSG'] } },
});

/** RESUMING takes the source's bytes in any chunking; a corrupt stream is refused and reset is needed. */
export const streamResume = rule('stream.resume', {
  since: '5.18',
  kind: 'stream',
  io: 'write',
  on: MigrationDataFd,
  perState: { RESUMING: { allowed: true } },
});

/** MIG_DATA_SIZE may be asked in every state. */
export const dataSizeAnyState = rule('data_size.any_state', {
  since: '6.2',
  kind: 'state-validity',
  op: 'VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:GET',
  on: Device,
  validIn: 'any',
  otherwise: 'EINVAL',
});

/**
 * MIG_DATA_SIZE's stop_copy_length estimates what STOP_COPY will stream (vfio.h: "read back the estimated
 * data length that will be required to complete stop copy"); no bound is stated, so conformance compares
 * it with what STOP_COPY then gave and fails nothing.
 */
export const dataSizeEstimate = rule('data_size.estimate', {
  since: '6.2',
  kind: 'behaviour',
  strength: 'estimate',
  tolerance: {
    stated: false,
    note: 'vfio.h (VFIO_DEVICE_FEATURE_MIG_DATA_SIZE) calls stop_copy_length an estimate and states no bound',
  },
});

/** Migration drivers built on vfio-pci-core must implement MIG_DATA_SIZE. */
export const dataSizeMandatory = rule('data_size.mandatory', {
  since: '6.2',
  strength: 'should',
  kind: 'capability',
  ifCaps: ['STOP_COPY'],
  requiresOp: 'VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:GET',
});

/** MIG_DEVICE_STATE GET may be asked in every state. */
export const stateGetAnyState = rule('mig.state.get_any_state', {
  since: '5.18',
  kind: 'state-validity',
  op: 'VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:GET',
  on: Device,
  validIn: 'any',
  otherwise: 'EINVAL',
});

// ---- DMA logging ----

const LOG_START = 'VFIO_DEVICE_FEATURE_DMA_LOGGING_START:SET';
const LOG_REPORT = 'VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:GET';

/** START needs at least one range. */
export const logStartNoRanges = rule('dma_logging.start.no_ranges', {
  since: '6.1',
  kind: 'errno',
  op: LOG_START,
  on: Device,
  condition: 'num_ranges == 0',
  errno: 'EINVAL',
});

/** START takes at most as many ranges as fit in one page (256 with 4 KiB pages). */
export const logStartTooMany = rule('dma_logging.start.too_many', {
  since: '6.1',
  kind: 'errno',
  op: LOG_START,
  on: Device,
  condition: 'num_ranges > PAGE_SIZE / 16',
  errno: 'E2BIG',
});

/** Every range must start and end on a page_size boundary. */
export const logStartAlign = rule('dma_logging.start.align', {
  since: '6.1',
  kind: 'errno',
  op: LOG_START,
  on: Device,
  condition: 'range not aligned to page_size',
  errno: 'EINVAL',
});

/** A range that wraps around the address space is refused. */
export const logStartOverflow = rule('dma_logging.start.overflow', {
  since: '6.1',
  kind: 'errno',
  op: LOG_START,
  on: Device,
  condition: 'iova + length overflows',
  errno: 'EOVERFLOW',
});

/** Overlapping ranges are refused. */
export const logStartOverlap = rule('dma_logging.start.overlap', {
  since: '6.1',
  kind: 'errno',
  op: LOG_START,
  on: Device,
  condition: 'ranges overlap',
  errno: 'EINVAL',
});

/** Only one logging session at a time: a second START before STOP is refused. */
export const logStartOnce = rule('dma_logging.start.once', { since: '6.1', kind: 'behaviour' });

/** REPORT's page size must be a power of two of at least 4096. */
export const logReportPageSize = rule('dma_logging.report.page_size', {
  since: '6.1',
  kind: 'errno',
  op: LOG_REPORT,
  on: Device,
  condition: 'page_size < 4096 or not a power of two',
  errno: 'EINVAL',
});

/** A report range that wraps around is refused. */
export const logReportOverflow = rule('dma_logging.report.overflow', {
  since: '6.1',
  kind: 'errno',
  op: LOG_REPORT,
  on: Device,
  condition: 'iova + length overflows',
  errno: 'EOVERFLOW',
});

/** REPORT only sets bits in the caller's bitmap and clears what it reported from the device's log. */
export const logReportBits = rule('dma_logging.report.bits', { since: '6.1', kind: 'behaviour' });

// ---- Access paths ----

/** SET_CONTAINER refuses a group that already has one. */
export const groupSetContainerTwice = rule('group.set_container.twice', {
  since: '3.6',
  kind: 'errno',
  op: 'VFIO_GROUP_SET_CONTAINER',
  on: Group,
  condition: 'group already attached',
  errno: 'EINVAL',
});

/**
 * SET_CONTAINER with an open fd that is neither a container nor an iommufd fails with EBADFD (an fd number that
 * is not open at all gets EBADF). drivers/vfio/group.c vfio_group_ioctl_set_container: EBADFD since 6.2 ("vfio-iommufd:
 * Allow iommufd to be used in place of a container fd"), EINVAL before; real 7.3.4 answers EBADFD for /dev/null.
 */
export const groupSetContainerBadFd = rule('group.set_container.bad_fd', {
  since: '6.2',
  kind: 'errno',
  op: 'VFIO_GROUP_SET_CONTAINER',
  on: Group,
  condition: 'an open fd that is not a container or an iommufd',
  errno: 'EBADFD',
});

/** SET_IOMMU needs a group attached first. */
export const containerSetIommuNoGroup = rule('container.set_iommu.no_group', {
  since: '3.6',
  kind: 'errno',
  op: 'VFIO_SET_IOMMU',
  on: Container,
  condition: 'no group attached',
  errno: 'EINVAL',
});

/** Until BIND_IOMMUFD succeeds, a cdev refuses every other ioctl and read/write/mmap. */
export const cdevUnbound = rule('cdev.unbound', {
  since: '6.6',
  kind: 'errno',
  op: 'any ioctl but VFIO_DEVICE_BIND_IOMMUFD',
  on: DeviceCdev,
  condition: 'not bound yet',
  errno: 'EINVAL',
});

/** BIND needs argsz ≥ 16, known flags, a valid iommufd, and happens once. */
export const cdevBindArgs = rule('cdev.bind', {
  since: '6.6',
  kind: 'errno',
  op: 'VFIO_DEVICE_BIND_IOMMUFD',
  on: DeviceCdev,
  condition: 'argsz < 16, unknown flags, iommufd < 0, or already bound',
  errno: 'EINVAL',
});

/** ATTACH needs argsz ≥ 12 and known flags. */
export const cdevAttachArgs = rule('cdev.attach', {
  since: '6.6',
  kind: 'errno',
  op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT',
  on: DeviceCdev,
  condition: 'argsz < 12 or unknown flags',
  errno: 'EINVAL',
});

/** iommufd structs may be longer than the kernel knows only if the extra bytes are zero. */
export const iommufdTrailing = rule('iommufd.trailing', {
  since: '6.2',
  kind: 'errno',
  op: 'IOMMU_IOAS_ALLOC',
  on: Iommufd,
  condition: 'non-zero bytes beyond the known struct',
  errno: 'E2BIG',
});

/** IOAS_ALLOC takes no flags. */
export const ioasAllocFlags = rule('iommufd.ioas_alloc.flags', {
  since: '6.2',
  kind: 'errno',
  op: 'IOMMU_IOAS_ALLOC',
  on: Iommufd,
  condition: 'flags != 0',
  errno: 'EOPNOTSUPP',
});
