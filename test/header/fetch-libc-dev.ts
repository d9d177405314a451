// The Linux 6.12 uapi headers (Debian bookworm-backports linux-libc-dev), unpacked under build/ and never
// installed. Reuses test/kernel's private apt (own sources list, lists and cache) and its cache folders;
// when test/kernel has already fetched the package (it does for its 6.12 route), nothing is downloaded.
// Usage: node --import tsx test/header/fetch-libc-dev.ts   (prints the include directory)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { aptRoot, cacheRoot, debsDir } from '../kernel/paths.js';
import { PrivateApt, debFileName, systemDebianMirror } from '../kernel/private-apt.js';

/** The package cannot be obtained (no network, mirror without bookworm-backports): callers skip. */
export class HeadersUnavailable extends Error {}

const SERIES = '6.12';
/** Same folder test/kernel unpacks linux-libc-dev into, so either side's fetch serves both. */
export const libcDevRoot = join(cacheRoot, `libc-dev-${SERIES}`);
export const libcDevInclude = join(libcDevRoot, 'usr', 'include');

function cachedDeb(): string | undefined {
  if (!existsSync(debsDir)) return undefined;
  const name = readdirSync(debsDir)
    .filter((f) => f.startsWith(`linux-libc-dev_${SERIES}.`) && f.endsWith('.deb'))
    .sort()
    .pop();
  return name ? join(debsDir, name) : undefined;
}

function download(): string {
  const apt = new PrivateApt(aptRoot, systemDebianMirror());
  try {
    apt.update();
  } catch (error) {
    throw new HeadersUnavailable(`apt-get update failed: ${(error as Error).message}`);
  }
  let version: string;
  try {
    version = apt.versionIn('linux-libc-dev', 'bookworm-backports');
  } catch (error) {
    throw new HeadersUnavailable((error as Error).message);
  }
  if (!version.startsWith(`${SERIES}.`))
    throw new HeadersUnavailable(`bookworm-backports has linux-libc-dev ${version}, not ${SERIES}`);
  const ref = apt.ref('linux-libc-dev', version);
  try {
    apt.download([ref], debsDir);
  } catch (error) {
    throw new HeadersUnavailable(`apt-get download failed: ${(error as Error).message}`);
  }
  return join(debsDir, debFileName(ref));
}

/** Include directory of the 6.12 uapi headers, fetching and unpacking them once. */
export function fetchLibcDev612(): string {
  if (existsSync(join(libcDevInclude, 'linux', 'vfio.h'))) return libcDevInclude;
  mkdirSync(cacheRoot, { recursive: true });
  const deb = cachedDeb() ?? download();
  const partial = `${libcDevRoot}.partial-header-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const r = spawnSync('dpkg', ['-x', deb, partial], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dpkg -x ${deb}: ${r.stderr}`);
  if (existsSync(libcDevRoot)) rmSync(partial, { recursive: true, force: true });
  else renameSync(partial, libcDevRoot);
  return libcDevInclude;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log(fetchLibcDev612());
  } catch (error) {
    if (!(error instanceof HeadersUnavailable)) throw error;
    console.error(`SKIPPED: ${error.message}`);
    process.exit(3);
  }
}
