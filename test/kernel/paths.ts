// Every location the kernel test reads or writes, in one place. Downloads and builds live in the cache outside
// the clone (test/cache-dir.ts: $VFIO_UAPI_CACHE, else $XDG_CACHE_HOME/vfio-uapi, else ~/.cache/vfio-uapi), so a
// clean clone on the same machine reuses them; per-run output (guest bundle, results) stays under build/.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../cache-dir.js';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const buildRoot = join(projectRoot, 'build');

/** .deb files, named as `apt-get download` names them (shared: a file name is unique per package version). */
export const debsDir = cacheDir('debs');
/** Private apt state for the kernel routes: their own sources list (four suites), lists and cache. */
export const kernelAptRoot = cacheDir('apt', 'kernel-routes');
/** One folder per Debian kernel release: unpacked packages, the bootable ELF, the mtty build, initramfs files. */
export const kernelsRoot = cacheDir('kernels');
/** The minimal kernel built for the cdev + iommufd path: source trees by version, builds by key. */
export const cdevKernelRoot = cacheDir('cdev-kernel');

export const guestBundleDir = join(buildRoot, 'kernel-guest');
export const runsRoot = join(buildRoot, 'kernel-runs');
