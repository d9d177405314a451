// Every location the kernel test reads or writes, in one place. All of it lives under build/ (git-ignored).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const buildRoot = join(projectRoot, 'build');
// VFIO_UAPI_KERNEL_CACHE points the download/build cache elsewhere (e.g. to time a cold run).
export const cacheRoot = process.env.VFIO_UAPI_KERNEL_CACHE ?? join(buildRoot, 'kernel-cache');
export const aptRoot = join(cacheRoot, 'apt');
export const debsDir = join(cacheRoot, 'debs');
export const guestBundleDir = join(buildRoot, 'kernel-guest');
export const runsRoot = join(buildRoot, 'kernel-runs');

/** Stable location of the 6.12 uapi headers (linux-libc-dev) for the header checker. */
export const libcDev612Include = join(cacheRoot, 'libc-dev-6.12', 'usr', 'include');
