// The download/build cache that outlives a clone: ${VFIO_UAPI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vfio-uapi}.
// CI runs on a clean clone of this machine, so what lands here is reused between runs. One subfolder per
// concern (debs/, apt/, headers/<version>/, ...); anything keyed is keyed by everything its content depends on.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheRoot(): string {
  if (process.env.VFIO_UAPI_CACHE) return process.env.VFIO_UAPI_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vfio-uapi');
}

/** A subfolder of the cache, e.g. `cacheDir('debs')`. */
export function cacheDir(...parts: string[]): string {
  return join(cacheRoot(), ...parts);
}
