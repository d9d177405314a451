// The header matrix: Debian linux-libc-dev packages (the kernel's installed uapi headers) at pinned versions,
// fetched with private apt state (own sources list, lists and cache; the system's apt is never touched)
// into the cache outside the clone and unpacked with dpkg -x, never installed.
//
// The suites move (a point release replaces bookworm's 6.1.x, backports move on), so every entry pins the
// exact package version. A pinned version the mirror no longer has is reported by name with what the suite
// has now: update the pin (and regenerate the fixtures with `npm run test:headers -- --write-fixtures`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../cache-dir.js';
import { PrivateApt, debFileName, systemDebianMirror, type PackageRef } from '../kernel/private-apt.js';

export interface LibcDevPin {
  /** Upstream kernel version of the headers, e.g. "6.12.95" (names the fixture file). */
  kernel: string;
  /** Debian suite that publishes the pinned version. */
  suite: string;
  /** Exact Debian package version. */
  version: string;
  /** Package architecture: `amd64` up to 6.1; from 6.12 Debian builds linux-libc-dev as `all` (every arch's asm/). */
  arch: 'amd64' | 'all';
}

/** Oldest to newest. */
export const HEADER_MATRIX: readonly LibcDevPin[] = [
  { kernel: '5.10.223', suite: 'bullseye', version: '5.10.223-1', arch: 'amd64' },
  { kernel: '6.1.176', suite: 'bookworm', version: '6.1.176-1', arch: 'amd64' },
  { kernel: '6.12.95', suite: 'bookworm-backports', version: '6.12.95-1~bpo12+1', arch: 'all' },
  { kernel: '6.12.117', suite: 'trixie', version: '6.12.117-1', arch: 'all' },
  { kernel: '7.2.13', suite: 'sid', version: '7.2.13-1', arch: 'all' },
  { kernel: '7.3.4', suite: 'trixie-backports', version: '7.3.4-1~bpo13+1', arch: 'all' },
];

export const PACKAGE = 'linux-libc-dev';

/** The package could not be had; `why` names the package, version and suite and what to do. */
export class HeadersUnavailable extends Error {
  constructor(
    readonly pin: LibcDevPin,
    /** `offline`: the mirror could not be reached; `gone`: it no longer publishes the pinned version. */
    readonly kind: 'offline' | 'gone',
    message: string,
  ) {
    super(message);
  }
}

const ref = (pin: LibcDevPin): PackageRef => ({ name: PACKAGE, version: pin.version, architecture: pin.arch });

/** Where a pinned package is unpacked; keyed by the package version (its content depends on nothing else). */
export function headersRoot(pin: LibcDevPin): string {
  return cacheDir(
    'headers',
    debFileName(ref(pin))
      .replace(/\.deb$/, '')
      .replace(/[^\w.+-]/g, '_'),
  );
}

/** The include directory (`-I`) of a pinned package once unpacked. */
export const includeDirOf = (pin: LibcDevPin) => join(headersRoot(pin), 'usr', 'include');

export const debPathOf = (pin: LibcDevPin) => join(cacheDir('debs'), debFileName(ref(pin)));

let apt: PrivateApt | undefined;
let aptError: string | undefined;

/** One private apt for every suite of the matrix, updated at most once per process and only when a .deb is missing. */
function matrixApt(): PrivateApt {
  if (aptError !== undefined) throw new Error(aptError);
  if (apt) return apt;
  const suites = [...new Set(HEADER_MATRIX.map((p) => p.suite))];
  try {
    const a = new PrivateApt(cacheDir('apt', 'libc-dev-matrix'), systemDebianMirror(), suites);
    a.update();
    apt = a;
    return a;
  } catch (error) {
    aptError = (error as Error).message;
    throw error;
  }
}

function download(pin: LibcDevPin): string {
  const name = `${PACKAGE} ${pin.version} (${pin.suite})`;
  let a: PrivateApt;
  try {
    a = matrixApt();
  } catch (error) {
    throw new HeadersUnavailable(pin, 'offline', `${name}: apt-get update failed: ${(error as Error).message}`);
  }
  const published = a.versionsIn(PACKAGE, pin.suite);
  if (!published.includes(pin.version)) {
    throw new HeadersUnavailable(
      pin,
      'gone',
      `${name}: ${pin.suite} no longer publishes this version (it has ${published.join(', ') || 'none'}); ` +
        'update the pin in test/header/libc-dev.ts and rerun with --write-fixtures',
    );
  }
  try {
    return a.download([ref(pin)], cacheDir('debs'))[0]!;
  } catch (error) {
    throw new HeadersUnavailable(pin, 'offline', `${name}: apt-get download failed: ${(error as Error).message}`);
  }
}

/** Include directory of a pinned linux-libc-dev, fetching and unpacking it once. */
export function fetchLibcDev(pin: LibcDevPin): string {
  const include = includeDirOf(pin);
  if (existsSync(join(include, 'linux', 'vfio.h'))) return include;
  const deb = existsSync(debPathOf(pin)) ? debPathOf(pin) : download(pin);
  const root = headersRoot(pin);
  const partial = `${root}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const r = spawnSync('dpkg', ['-x', deb, partial], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dpkg -x ${deb}: ${r.stderr}`);
  // Another process may have unpacked the same version meanwhile; both copies are identical.
  if (existsSync(root)) rmSync(partial, { recursive: true, force: true });
  else renameSync(partial, root);
  return include;
}

/** The pin for a kernel version or its series ("6.12.95", "7.3"); the newest match when a series is given. */
export function pinFor(kernel: string): LibcDevPin {
  const exact = HEADER_MATRIX.find((p) => p.kernel === kernel);
  if (exact) return exact;
  const series = HEADER_MATRIX.filter((p) => p.kernel.startsWith(`${kernel}.`));
  if (!series.length) throw new Error(`no linux-libc-dev of ${kernel} in the header matrix`);
  return series[series.length - 1]!;
}
