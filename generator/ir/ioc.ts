/**
 * ioctl numbers. VFIO and iommufd use `_IO(type, nr)` for every call (no direction, no size),
 * so the value is `type << 8 | nr` where `_IOC_NONE` is 0, and bit 29 is added where `_IOC_NONE`
 * is 1 (powerpc, mips, sparc, alpha).
 */
export function ioGeneric(type: number, nr: number): number {
  return ((type & 0xff) << 8) | (nr & 0xff);
}

export function ioPowerpc(type: number, nr: number): number {
  return (ioGeneric(type, nr) | (1 << 29)) >>> 0;
}
