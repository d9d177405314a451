/**
 * Rules about reaching a device (group/container, cdev/iommufd). They need fresh opens of the access
 * nodes: done when the caller hands the suite those paths — an emulated device's (whose nodes keep state per
 * open, so the device under test can stay open), or a real device's, which the suite then closes while these
 * rules run (the kernel binds a device through one cdev open at a time). A node the kernel does not have
 * (no /dev/iommu without CONFIG_IOMMUFD, ...) skips the rules that need it, saying so.
 */
import { closeSync, openSync } from 'node:fs';
import {
  IOMMU_IOAS_ALLOC,
  VFIO_DEVICE_ATTACH_IOMMUFD_PT,
  VFIO_DEVICE_BIND_IOMMUFD,
  VFIO_DEVICE_GET_INFO,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
} from '../../../generated/constants.js';
import type { CheckContext } from '../context.js';
import type { CallResult } from '../raw-device.js';
import type { SpecRule } from '../spec-data.js';
import type { Check } from './check.js';

/** The access nodes of the device under test, for fresh opens. */
export interface AccessPaths {
  container?: string;
  group?: string;
  cdev?: string;
  iommufd?: string;
  /** Why a node is missing, when the caller looked for it and the system has none. */
  absent?: Partial<Record<'container' | 'group' | 'cdev' | 'iommufd', string>>;
}

const ACCESS_FD_KINDS = new Set(['group', 'container', 'device_cdev', 'iommufd']);

/** Is this one of the rules about reaching a device (judged on fresh opens of its nodes)? */
export function isAccessPathRule(rule: SpecRule): boolean {
  return !!rule.on && ACCESS_FD_KINDS.has(rule.on) && rule.id in BODIES;
}

/** Open nodes for one check, closed when it ends. */
function opener(ctx: CheckContext, paths: AccessPaths | undefined) {
  const opened: number[] = [];
  return {
    open(which: 'container' | 'group' | 'cdev' | 'iommufd'): number {
      const path = paths?.[which];
      if (!path)
        ctx.skip(
          paths?.absent?.[which] ??
            `needs its own open of the ${which} node; not done for a real device, to leave it undisturbed`,
        );
      const fd = openSync(path, 'r+');
      opened.push(fd);
      ctx.raw.log.push(`open(${path}) → fd ${fd}`);
      return fd;
    },
    closeAll() {
      for (const fd of opened.reverse()) closeSync(fd);
    },
  };
}

function struct(words: number[], size = words.length * 4): Buffer {
  const b = Buffer.alloc(Math.max(size, words.length * 4));
  words.forEach((w, i) => b.writeInt32LE(w | 0, i * 4));
  return b;
}

function bind(ctx: CheckContext, cdev: number, iommufd: number, argsz = 24, flags = 0): CallResult {
  const b = struct([argsz, flags, iommufd, 0, 0, 0]);
  return ctx.raw.ioctl(
    cdev,
    VFIO_DEVICE_BIND_IOMMUFD,
    b,
    `VFIO_DEVICE_BIND_IOMMUFD argsz=${argsz} flags=${flags} iommufd=${iommufd}`,
  );
}

type Body = (ctx: CheckContext, nodes: ReturnType<typeof opener>) => void;

const BODIES: Record<string, Body> = {
  'group.set_container.twice'(ctx, n) {
    const container = n.open('container');
    const group = n.open('group');
    const arg = struct([container]);
    if (
      !ctx.expectOutcome(
        'first SET_CONTAINER',
        'success',
        ctx.raw.ioctl(group, VFIO_GROUP_SET_CONTAINER, arg, 'VFIO_GROUP_SET_CONTAINER'),
      )
    )
      return;
    const other = n.open('container');
    ctx.expectOutcome(
      'SET_CONTAINER again',
      ctx.rule.errno ?? 'EINVAL',
      ctx.raw.ioctl(group, VFIO_GROUP_SET_CONTAINER, struct([other]), 'VFIO_GROUP_SET_CONTAINER'),
    );
  },
  'group.set_container.bad_fd'(ctx, n) {
    const group = n.open('group');
    const notContainer = openSync('/dev/null', 'r');
    try {
      ctx.expectOutcome(
        'SET_CONTAINER with /dev/null',
        ctx.rule.errno ?? 'EBADF',
        ctx.raw.ioctl(group, VFIO_GROUP_SET_CONTAINER, struct([notContainer]), 'VFIO_GROUP_SET_CONTAINER'),
      );
    } finally {
      closeSync(notContainer);
    }
  },
  'container.set_iommu.no_group'(ctx, n) {
    const container = n.open('container');
    ctx.expectOutcome(
      'SET_IOMMU on a container without a group',
      ctx.rule.errno ?? 'EINVAL',
      ctx.raw.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU, 'VFIO_SET_IOMMU TYPE1v2'),
    );
  },
  'cdev.unbound'(ctx, n) {
    const cdev = n.open('cdev');
    ctx.expectOutcome(
      'VFIO_DEVICE_GET_INFO before BIND',
      ctx.rule.errno ?? 'EINVAL',
      ctx.raw.ioctl(cdev, VFIO_DEVICE_GET_INFO, struct([24, 0, 0, 0, 0, 0]), 'VFIO_DEVICE_GET_INFO'),
    );
  },
  'cdev.bind'(ctx, n) {
    const cdev = n.open('cdev');
    const iommufd = n.open('iommufd');
    const errno = ctx.rule.errno ?? 'EINVAL';
    ctx.expectOutcome('BIND with argsz 8', errno, bind(ctx, cdev, iommufd, 8));
    ctx.expectOutcome('BIND with an unknown flag', errno, bind(ctx, cdev, iommufd, 24, 0x80));
    ctx.expectOutcome('BIND with iommufd -1', errno, bind(ctx, cdev, -1));
    if (ctx.expectOutcome('BIND', 'success', bind(ctx, cdev, iommufd)))
      ctx.expectOutcome('BIND a second time', errno, bind(ctx, cdev, iommufd));
  },
  'cdev.attach'(ctx, n) {
    const cdev = n.open('cdev');
    const iommufd = n.open('iommufd');
    if (!ctx.expectOutcome('BIND', 'success', bind(ctx, cdev, iommufd))) return;
    const ioas = struct([12, 0, 0]);
    if (!ctx.expectOutcome('IOAS_ALLOC', 'success', ctx.raw.ioctl(iommufd, IOMMU_IOAS_ALLOC, ioas, 'IOMMU_IOAS_ALLOC')))
      return;
    const id = ioas.readUInt32LE(8);
    const errno = ctx.rule.errno ?? 'EINVAL';
    ctx.expectOutcome(
      'ATTACH with argsz 8',
      errno,
      ctx.raw.ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, struct([8, 0, id, 0]), 'ATTACH argsz=8'),
    );
    ctx.expectOutcome(
      'ATTACH with an unknown flag',
      errno,
      ctx.raw.ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, struct([16, 0x80, id, 0]), 'ATTACH flags=0x80'),
    );
  },
  'iommufd.trailing'(ctx, n) {
    const iommufd = n.open('iommufd');
    const b = struct([16, 0, 0, 0x5a]);
    ctx.expectOutcome(
      'IOAS_ALLOC with size 16 and a non-zero byte past the struct',
      ctx.rule.errno ?? 'E2BIG',
      ctx.raw.ioctl(iommufd, IOMMU_IOAS_ALLOC, b, 'IOMMU_IOAS_ALLOC size=16'),
    );
  },
  'iommufd.ioas_alloc.flags'(ctx, n) {
    const iommufd = n.open('iommufd');
    ctx.expectOutcome(
      'IOAS_ALLOC with flags 1',
      ctx.rule.errno ?? 'EOPNOTSUPP',
      ctx.raw.ioctl(iommufd, IOMMU_IOAS_ALLOC, struct([12, 1, 0]), 'IOMMU_IOAS_ALLOC flags=1'),
    );
  },
};

export function accessPathCheck(rule: SpecRule, paths: AccessPaths | undefined): Check | null {
  if (!rule.on || !ACCESS_FD_KINDS.has(rule.on)) return null;
  const body = BODIES[rule.id];
  if (!body) return null;
  return {
    rule: rule.id,
    run(ctx) {
      const nodes = opener(ctx, paths);
      try {
        body(ctx, nodes);
      } finally {
        nodes.closeAll();
      }
    },
  };
}
