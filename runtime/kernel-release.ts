/**
 * What a given kernel release does, from the spec's version data: the fixes recorded in the IR
 * (`kernelFixes`: commit, the mainline release and stable versions that carry it, the behaviour before and
 * after) and each feature's `since`. Conformance picks its expectations here, and so does the real-kernel
 * test; neither keeps a table of its own.
 *
 *   const k = kernelRelease();                          // this machine: os.release() + os.version()
 *   blockedRequest(spec, k, 'STOP_COPY', 'PRE_COPY')    // { answer: 'hang', status: 'unfixed', fix }
 *   featureAvailable(spec, k, 'MIG_PRECOPY_INFOv2')     // false before 7.1
 *
 * A release is fixed when it is at or after the fix's mainline release, or in one of the listed stable
 * series at or after the listed version (`6.12.96` = every 6.12 release from 6.12.96 on). A release older
 * than the release that introduced the behaviour (`fixes.release`) is not affected at all.
 */
import { release as osRelease, version as osVersion } from 'node:os';
import type { SpecData, SpecFeature, SpecKernelFix } from './conformance/spec-data.js';

export interface KernelVersion {
  major: number;
  minor: number;
  /** 0 when the release string does not say (a bare `7.2`, or a distribution name that hides it). */
  patch: number;
}

export interface KernelRelease {
  /** `uname -r`, e.g. `6.12.95+deb12-amd64` or `6.1.0-50-amd64`. */
  release: string;
  /** The upstream version it is built from, or null when neither string names one. */
  version: KernelVersion | null;
  /** Where `version` came from: the release string, or the build string (Debian's ABI names hide the patch level). */
  from: 'release' | 'build' | null;
}

const VERSION = /^(\d+)\.(\d+)(?:\.(\d+))?/;

export function parseVersion(text: string): KernelVersion | null {
  const m = VERSION.exec(text);
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

export function formatVersion(v: KernelVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

export function compareVersions(a: KernelVersion, b: KernelVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/**
 * The kernel `release` (uname -r) with, when given, its build string (uname -v). Debian names releases by ABI
 * (`6.1.0-50-amd64` is 6.1.176): its build string carries the real version (`… Debian 6.1.176-1 (…)`), and
 * wins when it names the same major.minor.
 */
export function kernelRelease(release = osRelease(), build: string | null = osVersion()): KernelRelease {
  const fromRelease = parseVersion(release);
  const debian = build ? /\bDebian (\d+\.\d+\.\d+)/.exec(build) : null;
  const fromBuild = debian?.[1] ? parseVersion(debian[1]) : null;
  if (fromBuild && (!fromRelease || (fromBuild.major === fromRelease.major && fromBuild.minor === fromRelease.minor)))
    return { release, version: fromBuild, from: 'build' };
  return { release, version: fromRelease, from: fromRelease ? 'release' : null };
}

export type FixStatus = 'fixed' | 'unfixed' | 'unaffected';

/** Does this version carry the fix (or predate what it fixes)? */
export function fixStatus(fix: SpecKernelFix, version: KernelVersion): FixStatus {
  const introduced = fix.fixes?.release ? parseVersion(fix.fixes.release) : null;
  if (introduced && compareVersions(version, introduced) < 0) return 'unaffected';
  const mainline = parseVersion(fix.fixedIn.mainline);
  if (mainline && compareVersions(version, mainline) >= 0) return 'fixed';
  for (const stable of fix.fixedIn.stable) {
    const s = parseVersion(stable);
    if (s && s.major === version.major && s.minor === version.minor && version.patch >= s.patch) return 'fixed';
  }
  return 'unfixed';
}

export interface BlockedRequest {
  /** What the kernel answers: `hang` (never returns), `ok`, or an errno name. */
  answer: string;
  /** `no-data`: the spec records no fix for this request; `answer` is then what the spec says. */
  status: FixStatus | 'no-data' | 'unknown-release';
  fix?: SpecKernelFix;
}

/** What this kernel does for a request the state machine forbids (STOP_COPY → PRE_COPY*). */
export function blockedRequest(spec: SpecData, kernel: KernelRelease, from: string, to: string): BlockedRequest {
  const entry = spec.fsm.forbidden.find((f) => f.from === from && f.to === to);
  if (!entry) throw new Error(`${from} → ${to} is not a forbidden request of ${spec.label}`);
  const fix = (spec.kernelFixes ?? []).find(
    (k) => k.id === entry.kernelFix || (k.requests ?? []).includes(`${from}->${to}`),
  );
  if (!fix) return { answer: entry.errno, status: 'no-data' };
  if (!kernel.version) return { answer: entry.errno, status: 'unknown-release', fix };
  const status = fixStatus(fix, kernel.version);
  return { answer: status === 'unfixed' ? fix.before : status === 'fixed' ? fix.after : entry.errno, status, fix };
}

/** Is the feature in this release (its `since`)? null when the release is unknown. */
export function featureAvailable(spec: SpecData, kernel: KernelRelease, short: string): boolean | null {
  const feature: SpecFeature | undefined = Object.values(spec.features).find((f) => f.short === short);
  if (!feature) throw new Error(`${spec.label} has no feature ${short}`);
  const since = parseVersion(feature.since);
  if (!kernel.version || !since) return null;
  return compareVersions(kernel.version, since) >= 0;
}

/** One line for reports: `7.3.4 (7.3.4+deb13-amd64)`. */
export function describeKernel(kernel: KernelRelease): string {
  if (!kernel.version) return `${kernel.release} (version unknown)`;
  const v = formatVersion(kernel.version);
  return v === kernel.release ? v : `${v} (${kernel.release})`;
}

/** "fixed in 7.2 and 6.12.96 by a26b499b757c" */
export function describeFix(fix: SpecKernelFix): string {
  const where = [fix.fixedIn.mainline, ...fix.fixedIn.stable].join(' and ');
  return `fixed in ${where} by ${fix.commit} "${fix.subject}"`;
}
