/**
 * vfio-uapi runtime: the embedding API.
 *
 *   import { openDevice, MigrationSession, saveDevice } from 'vfio-uapi';
 *   const dev = await openDevice('/dev/vfio/devices/vfio0');     // or 'emulated:mlx5'
 *   await saveDevice(dev, 'state.vfio');                          // pre-copy + STOP_COPY into a file
 *   await dev.close();
 */
export {
  openDevice,
  openDevices,
  classifyDevice,
  type DeviceSpec,
  type DevicesFor,
  type OpenOptions,
} from './device/open.js';
export { Device, type MigrationCapabilities, type FeatureProbe, type DeviceIdentity } from './device/device.js';
export { ioctlsIssued } from './device/ioctls.js';
export { VfioError, isVfioError, type FailureKind, type FdKind } from './errors.js';
export {
  MigrationSession,
  qemuWaypoints,
  type SessionOptions,
  type SessionMode,
  type SessionRole,
  type GuardMode,
  type PrecopyInfo,
  type PrecopyQuery,
  type DataRead,
} from './migration/session.js';
export type { SessionReport, StepRecord, AuditRecord, RecoveryRecord, UnavailableRecord } from './migration/report.js';
export {
  describeOutcome,
  describeDevice,
  type DeviceOutcome,
  type DeviceAction,
  type DeviceRole,
} from './migration/outcome.js';
export {
  saveStream,
  CHUNK,
  SAVE_START_STATES,
  type ChunkSink,
  type SaveResult,
  type SaveStreamOptions,
} from './stream/save.js';
export { loadStream, LOAD_START_STATES, type LoadOptions, type LoadResult } from './stream/load.js';
export { saveToEndpoint, FdSink, type SaveToOptions, type SaveToResult } from './stream/file.js';
export { openSink, openSource, parseEndpoint, type Endpoint, type EndpointSpec } from './stream/endpoints.js';
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_IO_TIMEOUT_MS, type TransferLimits } from './stream/limits.js';
export { PrecopyPolicy, type PrecopyPolicyOptions, type PrecopyDecision } from './stream/policy.js';
export type { ProgressEvent, ProgressListener, Phase } from './stream/progress.js';
export { FORMAT_VERSION, UAPI_VERSION, type StreamHeader } from './stream/format.js';
export { migrate, type MigrateOptions, type MigrateResult, type Verification } from './migrate.js';
export {
  migrateGroup,
  type GroupMigrateOptions,
  type GroupMigrateResult,
  type GroupDeviceResult,
} from './migrate-group.js';
/** errno by name (`Errno.ENOMSG`), and the name and meaning of a number, for callers handling raw results. */
export { Errno, errnoName, errnoNumber, errnoMeaning, type ErrnoName } from './sys/errno.js';
export { STATE_NAMES, type StateName } from '../generated/constants.js';
export { saveDevice, loadDevice } from './convenience.js';
export { PERSONALITIES, QUIRKS, type Personality, type QuirkName } from './emulator/api.js';
