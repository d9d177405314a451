/**
 * Known-failure lists (after protobuf-es's conformance lists): a committed text file per driver naming
 * the rules it is known to break, each with the reason, so the suite can still gate regressions on it.
 *
 *     # comment
 *     stream.enomsg   mtty answers read() == 0 at the temporary end of pre-copy data, never ENOMSG
 */
import { existsSync, readlinkSync } from 'node:fs';
import { version as kernelBuild } from 'node:os';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBoundedFile } from '../read-bounded.js';
import { sysfsOfDevice } from './device-nodes.js';

export interface KnownFailures {
  /** Where the list came from. */
  source: string;
  /** Rule id → why it is expected to fail. */
  entries: Map<string, string>;
}

export function parseKnownFailures(text: string, source: string): KnownFailures {
  const entries = new Map<string, string>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(.+)$/.exec(line);
    if (!m) throw new Error(`${source}:${i + 1}: expected "RULE-ID  reason", got ${JSON.stringify(line.slice(0, 80))}`);
    entries.set(m[1]!, m[2]!.trim());
  }
  return { source, entries };
}

/** Longest list read: the committed ones are a few hundred bytes. */
const MAX_LIST_BYTES = 1 << 20;

/** Where the committed lists live (inside the installed package). */
const COMMITTED_LISTS = fileURLToPath(new URL('./known-failures/', import.meta.url));

/**
 * Reads a list. A committed list is named `vfio-uapi:known-failures/NAME.txt` in reports, so a report reads the
 * same on every machine; a user's own list keeps the path it was given.
 */
export function loadKnownFailures(path: string): KnownFailures {
  const source = path.startsWith(COMMITTED_LISTS)
    ? `vfio-uapi:known-failures/${path.slice(COMMITTED_LISTS.length)}`
    : path;
  return parseKnownFailures(readBoundedFile(path, MAX_LIST_BYTES, 'a known-failures list').toString('utf8'), source);
}

/** The committed list by name: a driver (`mtty`, `hisi_acc`, `mlx5`) or a personality (`emulated-mtty`). */
export function knownFailuresPathFor(name: string): string {
  return `${COMMITTED_LISTS}${name}.txt`;
}

/** Kernel driver names → list names. */
const DRIVER_LISTS: Record<string, string> = {
  mtty: 'mtty',
  hisi_acc_vfio_pci: 'hisi_acc',
  'hisi-acc-vfio-pci': 'hisi_acc',
  mlx5_vfio_pci: 'mlx5',
};

/** One list made of several (entries of later lists win); its source names them all. */
export function mergeKnownFailures(lists: readonly KnownFailures[]): KnownFailures {
  const entries = new Map<string, string>();
  for (const list of lists) for (const [id, why] of list.entries) entries.set(id, why);
  return { source: lists.map((l) => l.source).join(' + '), entries };
}

/**
 * Every committed list that fits a device string: its driver's (or personality's) list, and for a real device
 * on a Debian kernel (`uname -v` says Debian) the list of what Debian's kernel builds break whatever the driver.
 */
export function knownFailuresPathsForDevice(device: string, build: string = kernelBuild()): string[] {
  const paths: string[] = [];
  const driver = knownFailuresPathForDevice(device);
  if (driver) paths.push(driver);
  if (!device.startsWith('emulated:') && /\bDebian\b/.test(build)) paths.push(knownFailuresPathFor('debian-kernel'));
  return paths;
}

/**
 * The committed list that fits a device string: `emulated:P…` → the personality's list; a real device →
 * its driver's list, found through sysfs (group form `/dev/vfio/G:NAME` or cdev `/dev/vfio/devices/vfioN`).
 */
export function knownFailuresPathForDevice(device: string): string | null {
  const emulated = /^emulated:([^+]+)/.exec(device);
  const candidates: string[] = [];
  if (emulated) candidates.push(`emulated-${emulated[1]}`);
  else {
    const sysfs = sysfsOfDevice(device);
    try {
      const name = sysfs ? DRIVER_LISTS[basename(readlinkSync(`${sysfs}/driver`))] : undefined;
      if (name) candidates.push(name);
    } catch {
      // no driver bound
    }
  }
  const found = candidates.map(knownFailuresPathFor).find((p) => existsSync(p));
  return found ?? null;
}
