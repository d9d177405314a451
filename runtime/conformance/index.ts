/** The conformance suite: judge a device against the spec's rules, one result per rule. */
export { runConformance, type ConformanceInput } from './suite.js';
export { generatedSpecData, specDataFromIr, type SpecData, type SpecRule } from './spec-data.js';
export {
  loadKnownFailures,
  parseKnownFailures,
  knownFailuresPathFor,
  knownFailuresPathForDevice,
  knownFailuresPathsForDevice,
  mergeKnownFailures,
  type KnownFailures,
} from './known-failures.js';
export { exitCodeOf, type Report, type RuleResult, type Status, type Mismatch } from './verdict.js';
export { formatHeader, formatResult, formatSummary } from './report-text.js';
export { formatKtap } from './report-ktap.js';
export { accessPathsOfDevice } from './device-nodes.js';
export type { AccessPaths } from './checks/access-paths.js';
export {
  kernelRelease,
  parseVersion,
  formatVersion,
  compareVersions,
  fixStatus,
  blockedRequest,
  featureAvailable,
  describeKernel,
  describeFix,
  type KernelRelease,
  type KernelVersion,
  type FixStatus,
  type BlockedRequest,
} from '../kernel-release.js';
