import { describe, expectTypeOf, it, expect } from 'vitest';
import type { Infer } from '../../spec/dsl/index.js';
import {
  vfio_device_feature_dma_buf,
  vfio_device_feature_dma_logging_control,
  vfio_device_feature_mig_state,
  vfio_device_feature_migration,
  vfio_pci_dependent_device,
  vfio_precopy_info,
  vfio_iommu_type1_dma_map,
} from '../../spec/vfio/index.js';

// These assertions are checked by `tsc --noEmit` (part of npm test); the runtime bodies only keep vitest honest.
describe('Infer<> gives the TypeScript type of each spec struct', () => {
  it('types every 64-bit field as bigint and 32-bit fields as number', () => {
    expectTypeOf<Infer<typeof vfio_precopy_info>>().toEqualTypeOf<{
      argsz: number;
      flags: number;
      initial_bytes: bigint;
      dirty_bytes: bigint;
    }>();
    expectTypeOf<Infer<typeof vfio_device_feature_migration>>().toEqualTypeOf<{ flags: bigint }>();
    expectTypeOf<Infer<typeof vfio_iommu_type1_dma_map>['vaddr']>().toEqualTypeOf<bigint>();
    expectTypeOf<Infer<typeof vfio_device_feature_dma_logging_control>['ranges']>().toEqualTypeOf<bigint>();
    expect(vfio_precopy_info.fields.initial_bytes.size).toBe(8);
  });

  it('types signed fds as number', () => {
    expectTypeOf<Infer<typeof vfio_device_feature_mig_state>>().toEqualTypeOf<{
      device_state: number;
      data_fd: number;
    }>();
  });

  it('types flexible arrays as arrays of their element type, and unions as optional members', () => {
    expectTypeOf<Infer<typeof vfio_device_feature_dma_buf>['dma_ranges']>().toEqualTypeOf<
      { offset: bigint; length: bigint }[]
    >();
    expectTypeOf<Infer<typeof vfio_pci_dependent_device>['group_id']>().toEqualTypeOf<{
      group_id?: number;
      devid?: number;
    }>();
    expect(vfio_device_feature_dma_buf.fields.dma_ranges.kind).toBe('flex');
  });

  it('rejects a wrong type at compile time', () => {
    // @ts-expect-error initial_bytes is a bigint, not a number
    const bad: Infer<typeof vfio_precopy_info> = { argsz: 24, flags: 0, initial_bytes: 1, dirty_bytes: 0n };
    expect(bad.argsz).toBe(24);
  });

  it('freezes spec values', () => {
    expect(Object.isFrozen(vfio_precopy_info)).toBe(true);
    expect(Object.isFrozen(vfio_precopy_info.fields)).toBe(true);
  });
});
