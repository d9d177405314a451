// Downloads (once) and unpacks (once) the pinned Debian kernels of debian-kernels.ts into the cache.
// Warm runs touch no network: a package counts as present when its .deb is in the cache folder.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run, runShell, shellQuote } from './exec.js';
import {
  debianKernels,
  trixieLibc,
  type DebianKernel,
  type DebianKernelName,
  type DebianSuite,
} from './debian-kernels.js';
import { debsDir, kernelAptRoot, kernelsRoot } from './paths.js';
import { PrivateApt, systemDebianMirror } from './private-apt.js';

/** Thrown when packages cannot be obtained at all (no network, mirror down): the run is skipped. */
export class PackagesUnavailable extends Error {}

/** Thrown when the mirror answers but no longer has a pinned version: the pin must move (a failure). */
export class PinnedVersionGone extends Error {}

const suites: DebianSuite[] = ['bookworm', 'bookworm-backports', 'trixie', 'trixie-backports'];

let aptReady: PrivateApt | undefined;
function privateApt(): PrivateApt {
  if (!aptReady) {
    const apt = new PrivateApt(kernelAptRoot, systemDebianMirror(), suites);
    try {
      apt.update();
    } catch (error) {
      throw new PackagesUnavailable(`apt-get update failed: ${(error as Error).message}`);
    }
    aptReady = apt;
  }
  return aptReady;
}

/** The cached .deb of name=version, whatever its architecture field (amd64 or all), or undefined. */
function cachedDeb(name: string, version: string): string | undefined {
  if (!existsSync(debsDir)) return undefined;
  const prefix = `${name}_${version.replace(/:/g, '%3a')}_`;
  const file = readdirSync(debsDir).find((f) => f.startsWith(prefix) && f.endsWith('.deb'));
  return file ? join(debsDir, file) : undefined;
}

/** Answers the .deb paths of exactly these versions, downloading the missing ones with the private apt. */
export function ensureDebs(packages: readonly { name: string; version: string; suite: DebianSuite }[]): string[] {
  const missing = packages.filter((p) => !cachedDeb(p.name, p.version));
  if (missing.length) {
    const apt = privateApt();
    for (const p of missing) {
      const versions = apt.versionsIn(p.name, p.suite);
      if (!versions.includes(p.version))
        throw new PinnedVersionGone(
          `${p.name} ${p.version} is no longer in ${p.suite} (the mirror has ${versions.join(', ') || 'none'}); ` +
            'move the pin in test/kernel/debian-kernels.ts',
        );
    }
    try {
      apt.download(
        missing.map((p) => apt.ref(p.name, p.version)),
        debsDir,
      );
    } catch (error) {
      throw new PackagesUnavailable(`apt-get download failed: ${(error as Error).message}`);
    }
  }
  return packages.map((p) => {
    const deb = cachedDeb(p.name, p.version);
    if (!deb) throw new PackagesUnavailable(`${p.name} ${p.version}: downloaded but not found in ${debsDir}`);
    return deb;
  });
}

/** Runs `produce` into a temporary directory and renames it into place, so a half-done step never counts as cached. */
export function once(target: string, produce: (dir: string) => void): string {
  if (existsSync(target)) return target;
  const partial = `${target}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  produce(partial);
  // Another run may have finished the same step meanwhile: keep theirs.
  if (existsSync(target)) rmSync(partial, { recursive: true, force: true });
  else renameSync(partial, target);
  return target;
}

function unpack(debs: readonly string[], into: string): void {
  for (const deb of debs) run('dpkg', ['-x', deb, into]);
}

export interface KernelFiles {
  kernel: DebianKernel;
  /** Folder of this release in the cache (kernels/<release>/). */
  home: string;
  /** Image (and headers, -common, kbuild) unpacked into one tree, so the packages' relative links resolve. */
  root: string;
  vmlinuz: string;
  modulesDir: string;
}

export interface BuildableKernelFiles extends KernelFiles {
  headersDir: string;
  mttySource: string;
}

function packagesOf(kernel: DebianKernel, names: readonly string[]) {
  return names.map((name) => ({ name, version: kernel.version, suite: kernel.suite }));
}

export function fetchKernel(name: DebianKernelName): KernelFiles {
  const kernel: DebianKernel = debianKernels[name];
  const home = join(kernelsRoot, kernel.release);
  mkdirSync(home, { recursive: true });
  const debs = ensureDebs(packagesOf(kernel, [...kernel.image, ...kernel.build]));
  const root = once(join(home, 'root'), (dir) => unpack(debs, dir));
  return { kernel, home, root, vmlinuz: join(root, kernel.vmlinuz), modulesDir: join(root, kernel.modulesDir) };
}

/** A kernel plus what an out-of-tree mtty build needs: headers and the one source file. */
export function fetchBuildableKernel(name: DebianKernelName): BuildableKernelFiles {
  const files = fetchKernel(name);
  const { kernel } = files;
  if (!kernel.source || !kernel.build.length) throw new Error(`${name} has no headers or source pinned`);
  const [sourceDeb] = ensureDebs(packagesOf(kernel, [kernel.source]));
  // Only one file of the 150 MB source tarball is needed: stream it out without unpacking the rest.
  const mttyDir = once(join(files.home, 'mtty-src'), (dir) =>
    runShell(
      `dpkg-deb --fsys-tarfile ${shellQuote(sourceDeb!)} | tar -xO --wildcards './usr/src/linux-source-*.tar.xz'` +
        ` | xz -dc | tar -xO --wildcards '*/samples/vfio-mdev/mtty.c' > ${shellQuote(join(dir, 'mtty.c'))}`,
    ),
  );
  return {
    ...files,
    headersDir: join(files.root, 'usr', 'src', `linux-headers-${kernel.release}`),
    mttySource: join(mttyDir, 'mtty.c'),
  };
}

/** The whole linux-source tree of a kernel (the cdev kernel is built from it), unpacked once. */
export function fetchKernelSource(name: DebianKernelName, into: string): string {
  const kernel: DebianKernel = debianKernels[name];
  if (!kernel.source) throw new Error(`${name} has no source package pinned`);
  const [sourceDeb] = ensureDebs(packagesOf(kernel, [kernel.source]));
  const dir = once(into, (partial) =>
    runShell(
      `dpkg-deb --fsys-tarfile ${shellQuote(sourceDeb!)} | tar -xO --wildcards './usr/src/linux-source-*.tar.xz'` +
        ` | xz -dc -T2 | tar -x -C ${shellQuote(partial)}`,
    ),
  );
  const [tree] = readdirSync(dir).filter((entry) => entry.startsWith('linux-source-'));
  if (!tree) throw new Error(`no linux-source-* folder in ${dir}`);
  return join(dir, tree);
}

/** trixie's libc unpacked (its loader runs the kbuild helpers that need glibc ≥ 2.38). */
export function fetchTrixieLibc(): string {
  const [deb] = ensureDebs([trixieLibc]);
  const dir = once(join(kernelsRoot, `libc6-${trixieLibc.version}`), (partial) => unpack([deb!], partial));
  return join(dir, 'usr', 'lib', 'x86_64-linux-gnu');
}
