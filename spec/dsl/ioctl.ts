import { base, deepFreeze, type ItemBase, type ItemOptions } from './common.js';
import type { ScalarType, StructType } from './types.js';

/** A kind of file descriptor an ioctl is issued on (VFIO reuses numbers across kinds). */
export interface FdKind extends ItemBase {
  readonly kind: 'fdKind';
  /** How a program gets one: a path pattern or the call that returns it. */
  readonly obtainedBy: string;
  /** A kind whose ioctls this kind also accepts (a cdev device fd is a device fd). */
  readonly extends?: string;
}

export function fdKind(name: string, opts: ItemOptions & { obtainedBy: string; extends?: FdKind }): FdKind {
  return deepFreeze({
    kind: 'fdKind',
    ...base(name, opts),
    obtainedBy: opts.obtainedBy,
    ...(opts.extends ? { extends: opts.extends.name } : {}),
  });
}

/** How the third ioctl argument is passed. */
export type IoctlArg =
  | { kind: 'none' }
  /** A pointer to a struct that starts with its own size field. */
  | { kind: 'struct'; struct: StructType }
  /** An integer passed as the argument itself. */
  | { kind: 'value'; type: ScalarType }
  /** A pointer to one int (e.g. a container fd). */
  | { kind: 'int_ptr' }
  /** A pointer to a NUL-terminated string. */
  | { kind: 'string' }
  /** A pointer to a struct this spec does not describe. */
  | { kind: 'opaque'; cType: string };

export const noArg: IoctlArg = Object.freeze({ kind: 'none' });
export const byPointer = (s: StructType): IoctlArg => Object.freeze({ kind: 'struct', struct: s });
export const byValue = (t: ScalarType): IoctlArg => Object.freeze({ kind: 'value', type: t });
export const intPointer: IoctlArg = Object.freeze({ kind: 'int_ptr' });
export const cString: IoctlArg = Object.freeze({ kind: 'string' });
export const opaque = (cType: string): IoctlArg => Object.freeze({ kind: 'opaque', cType });

export interface Ioctl extends ItemBase {
  readonly kind: 'ioctl';
  /** The `_IOC` type byte; ';' (0x3B) for VFIO and iommufd. */
  readonly type: number;
  /** The command number (VFIO_BASE + k, or IOMMUFD_CMD_BASE + k). */
  readonly nr: number;
  /** The fd kind it is issued on. */
  readonly on: string;
  readonly arg: IoctlArg;
  /** Success returns a new fd of this kind (otherwise 0 or a count). */
  readonly returnsFd?: string;
  /** Size the kernel requires before it reads further; defaults to the struct's minsz. */
  readonly minsz?: number;
}

export function ioctl(
  name: string,
  opts: ItemOptions & { nr: number; on: FdKind; arg: IoctlArg; returnsFd?: FdKind; type?: number; minsz?: number },
): Ioctl {
  return deepFreeze({
    kind: 'ioctl',
    ...base(name, opts),
    type: opts.type ?? 0x3b,
    nr: opts.nr,
    on: opts.on.name,
    arg: opts.arg,
    ...(opts.returnsFd ? { returnsFd: opts.returnsFd.name } : {}),
    ...(opts.minsz !== undefined ? { minsz: opts.minsz } : {}),
  });
}

export type FeatureOp = 'GET' | 'SET';

/** Which part of the kernel answers a feature: the VFIO core, or the driver's own op. */
export type FeatureHandler = 'core' | 'driver';

/** What a device must have for the core to answer rather than refuse with ENOTTY. */
export type FeatureNeeds = 'migration' | 'dma_logging' | 'pre_copy' | 'driver_op';

export interface Feature extends ItemBase {
  readonly kind: 'feature';
  /** The index in the low 16 bits of `vfio_device_feature.flags`. */
  readonly index: number;
  /** Short name; the C macro is `VFIO_DEVICE_FEATURE_<short>`. */
  readonly short: string;
  readonly ops: readonly FeatureOp[];
  readonly payload?: StructType;
  /** Bytes of payload the kernel requires for GET/SET. */
  readonly minsz: number;
  readonly handler: FeatureHandler;
  readonly needs: FeatureNeeds;
  /** GET returns a new fd as the ioctl's value. */
  readonly returnsFd?: string;
  /** The errno when `needs` is not met (checked before the op and PROBE checks). */
  readonly missing: string;
}

export function feature(
  index: number,
  short: string,
  opts: ItemOptions & {
    ops: FeatureOp[];
    payload?: StructType;
    minsz: number;
    handler: FeatureHandler;
    needs: FeatureNeeds;
    returnsFd?: FdKind;
    missing?: string;
  },
): Feature {
  return deepFreeze({
    kind: 'feature',
    ...base(`VFIO_DEVICE_FEATURE_${short}`, opts),
    index,
    short,
    ops: opts.ops,
    ...(opts.payload ? { payload: opts.payload } : {}),
    minsz: opts.minsz,
    handler: opts.handler,
    needs: opts.needs,
    ...(opts.returnsFd ? { returnsFd: opts.returnsFd.name } : {}),
    missing: opts.missing ?? 'ENOTTY',
  });
}
