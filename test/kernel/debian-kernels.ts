// The Debian kernels the routes boot, pinned to exact package versions: suites move (bookworm-backports went
// from 6.12.95 to later releases, trixie-backports will leave 7.3), and a test that follows a suite changes
// what it proves without anyone noticing. Names and versions as the Debian mirror listed them (apt-cache
// madison / show, December 2026); the .debs stay in the cache once fetched. To move a route to a newer
// kernel, change its entry here: everything else (expectations included) follows the release.

export type DebianSuite = 'bookworm' | 'bookworm-backports' | 'trixie' | 'trixie-backports';

export interface DebianKernel {
  /** Upstream version, the route's name: `6.12.95`. */
  upstream: string;
  suite: DebianSuite;
  /** Debian package version of every package below. */
  version: string;
  /** `uname -r` of the kernel. */
  release: string;
  /** Packages holding the kernel image, its modules and modules.builtin. */
  image: string[];
  /** Headers, their -common half and kbuild: what an out-of-tree module build needs. */
  build: string[];
  /** linux-source-X.Y, of which only samples/vfio-mdev/mtty.c (and, for 7.3, the whole tree) is used. */
  source?: string;
  /** Where the vmlinuz is inside the unpacked packages (7.x moved it from /boot to /usr/lib/modules). */
  vmlinuz: string;
  /** Where the modules are (modules.builtin next to kernel/). */
  modulesDir: string;
}

/** bookworm: /boot and /lib/modules; trixie ships merged /usr (modules under /usr/lib/modules). */
function bootLayout(release: string, modules: 'lib' | 'usr/lib' = 'lib') {
  return { vmlinuz: `boot/vmlinuz-${release}`, modulesDir: `${modules}/modules/${release}` };
}

export const debianKernels = {
  '6.1': {
    upstream: '6.1.176',
    suite: 'bookworm',
    version: '6.1.176-1',
    release: '6.1.0-50-amd64',
    image: ['linux-image-6.1.0-50-amd64'],
    build: [],
    ...bootLayout('6.1.0-50-amd64'),
  },
  '6.12.95': {
    upstream: '6.12.95',
    suite: 'bookworm-backports',
    version: '6.12.95-1~bpo12+1',
    release: '6.12.95+deb12-amd64',
    image: ['linux-image-6.12.95+deb12-amd64'],
    build: ['linux-headers-6.12.95+deb12-amd64', 'linux-headers-6.12.95+deb12-common', 'linux-kbuild-6.12.95+deb12'],
    source: 'linux-source-6.12',
    ...bootLayout('6.12.95+deb12-amd64'),
  },
  '6.12.117': {
    upstream: '6.12.117',
    suite: 'trixie',
    version: '6.12.117-1',
    release: '6.12.117+deb13-amd64',
    image: ['linux-image-6.12.117+deb13-amd64-unsigned'],
    build: ['linux-headers-6.12.117+deb13-amd64', 'linux-headers-6.12.117+deb13-common', 'linux-kbuild-6.12.117+deb13'],
    source: 'linux-source-6.12',
    ...bootLayout('6.12.117+deb13-amd64', 'usr/lib'),
  },
  '7.3.4': {
    upstream: '7.3.4',
    suite: 'trixie-backports',
    version: '7.3.4-1~bpo13+1',
    release: '7.3.4+deb13-amd64',
    // 7.x splits the image package: the binary, the modules, and linux-base (config, modules.builtin).
    image: ['linux-binary-7.3.4+deb13-amd64', 'linux-modules-7.3.4+deb13-amd64', 'linux-base-7.3.4+deb13-amd64'],
    build: ['linux-headers-7.3.4+deb13-amd64', 'linux-headers-7.3.4+deb13-common', 'linux-kbuild-7.3.4+deb13'],
    source: 'linux-source-7.3',
    vmlinuz: 'usr/lib/modules/7.3.4+deb13-amd64/vmlinuz',
    modulesDir: 'usr/lib/modules/7.3.4+deb13-amd64',
  },
} as const satisfies Record<string, DebianKernel>;

export type DebianKernelName = keyof typeof debianKernels;

/**
 * trixie's C library, for the kbuild helpers of the gcc-14 kernels (modpost, objtool, resolve_btfids need
 * glibc ≥ 2.38; bookworm has 2.36). Only unpacked, never installed: the helpers run through its own loader.
 */
export const trixieLibc = { name: 'libc6', suite: 'trixie' as DebianSuite, version: '2.41-12+deb13u5' };
