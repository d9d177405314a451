// Downloads and unpacks the Debian kernels and helpers each route needs, cached under build/kernel-cache.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runShell, shellQuote } from './exec.js';
import { aptRoot, cacheRoot, debsDir } from './paths.js';
import { PrivateApt, debFileName, systemDebianMirror, type PackageRef } from './private-apt.js';

/** Thrown when the packages cannot be obtained at all (no network, mirror down): the run is skipped. */
export class PackagesUnavailable extends Error {}

export interface RouteAFiles {
  /** Kernel release string, e.g. "6.12.95+deb12-amd64". */
  release: string;
  /** Image, headers, -common and kbuild unpacked into one tree, so the packages' relative links resolve. */
  root: string;
  vmlinuz: string;
  modulesDir: string;
  headersDir: string;
  commonDir: string;
  mttySource: string;
  libcDevInclude: string;
}

export interface RouteBFiles {
  release: string;
  root: string;
  vmlinuz: string;
  modulesDir: string;
}

interface Manifest {
  routeA?: { release: string; packages: PackageRef[] };
  routeB?: { release: string; packages: PackageRef[] };
}

const manifestFile = join(cacheRoot, 'packages.json');

function readManifest(): Manifest {
  return existsSync(manifestFile) ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest) : {};
}

function allDownloaded(refs: readonly PackageRef[] | undefined): boolean {
  return !!refs && refs.every((ref) => existsSync(join(debsDir, debFileName(ref))));
}

let aptReady: PrivateApt | undefined;
function privateApt(): PrivateApt {
  if (!aptReady) {
    const apt = new PrivateApt(aptRoot, systemDebianMirror());
    try {
      apt.update();
    } catch (error) {
      throw new PackagesUnavailable(`apt-get update failed: ${(error as Error).message}`);
    }
    aptReady = apt;
  }
  return aptReady;
}

/** The kernel release the linux-image-amd64 meta package of `suite` points at, with its version. */
function kernelOf(apt: PrivateApt, suite: string): { release: string; version: string } {
  const metaVersion = apt.versionIn('linux-image-amd64', suite);
  const depends = apt.field('linux-image-amd64', metaVersion, 'Depends');
  const match = /linux-image-(\S+)-amd64 \(= ([^)]+)\)/.exec(depends);
  if (!match?.[1] || !match[2]) throw new Error(`unexpected linux-image-amd64 Depends: ${depends}`);
  return { release: `${match[1]}-amd64`, version: match[2] };
}

function resolveRouteA(apt: PrivateApt): { release: string; packages: PackageRef[] } {
  const { release, version } = kernelOf(apt, 'bookworm-backports');
  const series = /^(\d+\.\d+)/.exec(release)?.[1] ?? '';
  // The headers package names its -common and kbuild companions (kbuild's name varies between versions).
  const headersDepends = apt.field(`linux-headers-${release}`, version, 'Depends');
  const companions = [...headersDepends.matchAll(/\b(linux-(?:headers-[^\s,]+-common|kbuild-[^\s,]+))/g)];
  if (companions.length !== 2) throw new Error(`unexpected linux-headers Depends: ${headersDepends}`);
  const names = [
    `linux-image-${release}`,
    `linux-headers-${release}`,
    ...companions.map((match) => match[1] ?? ''),
    `linux-source-${series}`,
    'linux-libc-dev',
  ];
  return { release, packages: names.map((name) => apt.ref(name, version)) };
}

function resolveRouteB(apt: PrivateApt): { release: string; packages: PackageRef[] } {
  const { release, version } = kernelOf(apt, 'bookworm');
  return { release, packages: [apt.ref(`linux-image-${release}`, version)] };
}

/** Resolves (once, then from the manifest) and downloads a route's packages. */
function ensurePackages(route: 'routeA' | 'routeB'): { release: string; packages: PackageRef[] } {
  const manifest = readManifest();
  const cached = manifest[route];
  if (cached && allDownloaded(cached.packages)) return cached;
  const apt = privateApt();
  let resolved: { release: string; packages: PackageRef[] };
  try {
    resolved = route === 'routeA' ? resolveRouteA(apt) : resolveRouteB(apt);
  } catch (error) {
    throw new PackagesUnavailable(`package versions not resolvable: ${(error as Error).message}`);
  }
  try {
    apt.download(resolved.packages, debsDir);
  } catch (error) {
    throw new PackagesUnavailable(`apt-get download failed: ${(error as Error).message}`);
  }
  writeFileSync(manifestFile, JSON.stringify({ ...readManifest(), [route]: resolved }, null, 2));
  return resolved;
}

/** Runs `produce` into a temporary directory and renames it into place, so a half-done step never counts as cached. */
function once(target: string, produce: (dir: string) => void): string {
  if (existsSync(target)) return target;
  const partial = `${target}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  produce(partial);
  renameSync(partial, target);
  return target;
}

function unpack(refs: readonly PackageRef[], into: string): void {
  for (const ref of refs) run('dpkg', ['-x', join(debsDir, debFileName(ref)), into]);
}

function byName(refs: readonly PackageRef[], prefix: string): PackageRef {
  const ref = refs.find((candidate) => candidate.name.startsWith(prefix));
  if (!ref) throw new Error(`no package ${prefix}*`);
  return ref;
}

export function fetchRouteA(): RouteAFiles {
  mkdirSync(cacheRoot, { recursive: true });
  const { release, packages } = ensurePackages('routeA');
  const base = release.replace(/-amd64$/, '');
  const series = /^(\d+\.\d+)/.exec(release)?.[1] ?? '';
  const treePackages = packages.filter((ref) => !/^linux-(source|libc-dev)/.test(ref.name));
  const root = once(join(cacheRoot, `root-${release}`), (dir) => unpack(treePackages, dir));
  const libcDevRoot = once(join(cacheRoot, `libc-dev-${series}`), (dir) =>
    unpack([byName(packages, 'linux-libc-dev')], dir),
  );
  // Only one file of the 150 MB source tarball is needed: stream it out without unpacking the rest.
  const mttyDir = once(join(cacheRoot, `mtty-src-${release}`), (dir) => {
    const deb = join(debsDir, debFileName(byName(packages, 'linux-source-')));
    runShell(
      `dpkg-deb --fsys-tarfile ${shellQuote(deb)} | tar -xO --wildcards './usr/src/linux-source-*.tar.xz'` +
        ` | tar -xJO --wildcards '*/samples/vfio-mdev/mtty.c' > ${shellQuote(join(dir, 'mtty.c'))}`,
    );
  });
  return {
    release,
    root,
    vmlinuz: join(root, 'boot', `vmlinuz-${release}`),
    modulesDir: join(root, 'lib', 'modules', release),
    headersDir: join(root, 'usr', 'src', `linux-headers-${release}`),
    commonDir: join(root, 'usr', 'src', `linux-headers-${base}-common`),
    mttySource: join(mttyDir, 'mtty.c'),
    libcDevInclude: join(libcDevRoot, 'usr', 'include'),
  };
}

export function fetchRouteB(): RouteBFiles {
  mkdirSync(cacheRoot, { recursive: true });
  const { release, packages } = ensurePackages('routeB');
  const root = once(join(cacheRoot, `root-${release}`), (dir) => unpack(packages, dir));
  return {
    release,
    root,
    vmlinuz: join(root, 'boot', `vmlinuz-${release}`),
    modulesDir: join(root, 'lib', 'modules', release),
  };
}
