import { errnoMeaning, errnoName, type ErrnoName } from './errno.js';

/** A failed system call: which call, the errno, its name, and a message a person can act on. */
export class SysError extends Error {
  readonly call: string;
  readonly errno: number;
  readonly errnoName: ErrnoName;

  /**
   * @param call what was attempted, e.g. `ioctl(fd 7, 0x3b79)` or `open(/dev/vfio/devices/vfio0)`
   * @param errno the positive errno value read right after the call
   * @param hint optional extra sentence (what to check next)
   */
  constructor(call: string, errno: number, hint?: string) {
    const name = errnoName(errno);
    super(`${call} failed: ${name} (${errno}, ${errnoMeaning(errno)})${hint ? ` — ${hint}` : ''}`);
    this.name = 'SysError';
    this.call = call;
    this.errno = errno;
    this.errnoName = name;
  }
}

export function isSysError(e: unknown, name?: ErrnoName): e is SysError {
  return e instanceof SysError && (name === undefined || e.errnoName === name);
}
