/**
 * Which check judges which rule: rule-specific checks by id, then checks derived from the rule's kind and
 * data. A rule that gets neither is reported as having no check yet, never silently left out.
 */
import type { CheckContext } from '../context.js';
import type { SpecRule } from '../spec-data.js';
import { accessPathCheck, type AccessPaths } from './access-paths.js';
import type { Check } from './check.js';
import { errorReset, fdDirection, fdEnded, fdStream, resetRunning, streamResume } from './data-fd.js';
import { dmaLoggingChecks } from './dma-logging.js';
import { featureHeaderCheck } from './feature-header.js';
import { featureProbe } from './features.js';
import { genericCheck } from './generic.js';
import {
  dataSizeEstimate,
  precopyAccounting,
  precopyArgsz,
  precopyInitialBytes,
  precopyTemporaryEnd,
  precopyV2Flags,
  precopyV2NeedsPreCopy,
  precopyWrongCommand,
} from './precopy.js';
import { structArgsz } from './struct-argsz.js';
import { setFd, setForbidden, setInvalid, singleSession, stateGet } from './transitions.js';

const BY_ID = new Map<string, Check>(
  [
    featureProbe,
    stateGet,
    setFd,
    setInvalid,
    setForbidden,
    singleSession,
    errorReset,
    resetRunning,
    fdEnded,
    fdStream,
    fdDirection,
    streamResume,
    precopyArgsz,
    precopyWrongCommand,
    precopyAccounting,
    dataSizeEstimate,
    precopyInitialBytes,
    precopyTemporaryEnd,
    precopyV2NeedsPreCopy,
    precopyV2Flags,
    structArgsz,
    ...dmaLoggingChecks,
  ].map((c) => [c.rule, c]),
);

export function checkFor(rule: SpecRule, ctx: CheckContext, access?: AccessPaths): Check | null {
  return BY_ID.get(rule.id) ?? featureHeaderCheck(rule) ?? accessPathCheck(rule, access) ?? genericCheck(rule, ctx);
}
