import { describe, expect, it } from 'vitest';
import {
  capsKeyOf,
  checkCapabilities,
  checkFeatureCall,
  checkRequest,
  featureArgsz,
  featureFlags,
  isAllowed,
  validateVfioDeviceFeatureDmaLoggingControl,
  validateVfioDeviceFeatureMigState,
  validateVfioPrecopyInfo,
  validateVfioDeviceFeature,
  type FeatureDevice,
} from '../../generated/validators.js';

describe('struct validators return typed problems naming the rule', () => {
  it('flags an argsz below the minimum', () => {
    expect(validateVfioPrecopyInfo({ argsz: 16, flags: 0, initial_bytes: 0n, dirty_bytes: 0n })).toEqual([
      expect.objectContaining({ rule: 'struct.argsz', field: 'vfio_precopy_info.argsz', errno: 'EINVAL' }),
    ]);
  });
  it('ignores output-only fields such as precopy flags', () => {
    expect(validateVfioPrecopyInfo({ argsz: 24, flags: 0xff, initial_bytes: 0n, dirty_bytes: 0n })).toEqual([]);
  });
  it('flags unknown flag bits in the feature header', () => {
    const p = validateVfioDeviceFeature({ argsz: 8, flags: 0x100000 | 2, data: [] });
    expect(p.map((x) => x.rule)).toEqual(['struct.flags.unknown']);
  });
  it('flags an enum value out of range', () => {
    expect(validateVfioDeviceFeatureMigState({ device_state: 99, data_fd: -1 }).map((x) => x.rule)).toEqual([
      'struct.enum',
    ]);
  });
  it('flags reserved fields and NULL required pointers', () => {
    const p = validateVfioDeviceFeatureDmaLoggingControl({
      page_size: 4096n,
      num_ranges: 1,
      __reserved: 1,
      ranges: 0n,
    });
    expect(p.map((x) => x.rule).sort()).toEqual(['struct.pointer', 'struct.reserved']);
  });
});

describe('state guards come from the spec rules', () => {
  it('allows PRECOPY_INFO only in PRE_COPY states, with the errno and rule otherwise', () => {
    expect(isAllowed('VFIO_MIG_GET_PRECOPY_INFO', 'migration_data', 'PRE_COPY')).toEqual({ allowed: true });
    expect(isAllowed('VFIO_MIG_GET_PRECOPY_INFO', 'migration_data', 'STOP_COPY')).toEqual({
      allowed: false,
      errno: 'EINVAL',
      rule: 'precopy.valid_states',
      validIn: ['PRE_COPY', 'PRE_COPY_P2P'],
      message: 'VFIO_MIG_GET_PRECOPY_INFO is only valid in PRE_COPY or PRE_COPY_P2P; the device is in STOP_COPY',
    });
  });
  it('allows MIG_DATA_SIZE in every state', () => {
    for (const s of ['STOP', 'RUNNING', 'STOP_COPY', 'RESUMING', 'PRE_COPY'] as const)
      expect(isAllowed('VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:GET', 'device', s).allowed).toBe(true);
  });
  it('refuses STOP_COPY -> PRE_COPY as forbidden and ERROR as never requestable', () => {
    expect(checkRequest('STOP_COPY+P2P+PRE_COPY', 'STOP_COPY', 'PRE_COPY')).toMatchObject({
      ok: false,
      rule: 'mig.state.set.forbidden',
    });
    expect(checkRequest('STOP_COPY+P2P+PRE_COPY', 'RUNNING', 'ERROR')).toMatchObject({
      ok: false,
      rule: 'mig.state.set.invalid',
    });
    expect(checkRequest('STOP_COPY', 'RUNNING', 'PRE_COPY')).toMatchObject({
      ok: false,
      message: 'PRE_COPY needs STOP_COPY+PRE_COPY, the device has STOP_COPY',
    });
    expect(checkRequest('STOP_COPY+P2P+PRE_COPY', 'PRE_COPY', 'STOP_COPY')).toEqual({
      ok: true,
      path: ['PRE_COPY_P2P', 'STOP_COPY'],
    });
  });
});

describe('capability checks', () => {
  it('accepts the four defined flag sets and rejects others', () => {
    expect(capsKeyOf(7n)).toEqual({ ok: true, key: 'STOP_COPY+P2P+PRE_COPY' });
    expect(capsKeyOf(2)).toMatchObject({ ok: false, rule: 'mig.caps.stop_copy' });
    expect(capsKeyOf(0x11)).toMatchObject({ ok: false });
  });
  it('requires the precopy-info ioctl with PRE_COPY', () => {
    const p = checkCapabilities(5, (op) => (op === 'VFIO_MIG_GET_PRECOPY_INFO' ? false : true));
    expect(p.map((x) => x.rule)).toEqual(['precopy.mandatory']);
  });
});

describe('feature calls are checked in the kernel order', () => {
  const migratable: FeatureDevice = { supports: () => true, has: (n) => n !== 'dma_logging' };
  const plain: FeatureDevice = {
    supports: (f) => f.handler === 'core' || f.index === 3,
    has: (n) => n === 'driver_op',
  };
  const call = (argsz: number, flags: number, device = migratable) => checkFeatureCall({ argsz, flags }, device);
  it('argsz < 8 beats everything else', () =>
    expect(call(4, 0x100000)).toMatchObject({ ok: false, errno: 'EINVAL', rule: 'feature.hdr.minsz' }));
  it('unknown flag bits', () =>
    expect(call(8, 0x100001)).toMatchObject({ errno: 'EINVAL', rule: 'feature.flags.unknown' }));
  it('GET|SET without PROBE', () => expect(call(16, 0x30002)).toMatchObject({ rule: 'feature.get_and_set' }));
  it('unknown index is ENOTTY', () =>
    // 14: the first index no kernel up to 7.3 defines (13 is ZPCI_ERROR since 7.3)
    expect(call(8, 0x4000e)).toMatchObject({ errno: 'ENOTTY', rule: 'feature.unknown_index' }));
  it('migration features on a device without migration are ENOTTY, even PROBE', () =>
    expect(call(8, featureFlags('VFIO_DEVICE_FEATURE_MIGRATION', 'PROBE_GET'), plain)).toMatchObject({
      errno: 'ENOTTY',
      rule: 'feature.needs',
    }));
  it('the v2 opt-in on a migratable device without PRE_COPY is EINVAL', () =>
    expect(
      call(8, featureFlags('VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2', 'SET'), {
        supports: () => true,
        has: (n) => n === 'migration',
      }),
    ).toMatchObject({
      errno: 'EINVAL',
    }));
  it('PROBE|SET of a GET-only feature is EINVAL', () =>
    expect(call(8, featureFlags('VFIO_DEVICE_FEATURE_MIGRATION', 'PROBE_SET'))).toMatchObject({
      rule: 'feature.check.op',
    }));
  it('PROBE succeeds without a payload', () =>
    expect(call(8, featureFlags('VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 'PROBE'))).toMatchObject({
      ok: true,
      probe: true,
    }));
  it('a short payload is EINVAL', () =>
    expect(call(12, featureFlags('VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 'SET'))).toMatchObject({
      rule: 'feature.check.minsz',
    }));
  it('a full call passes with its payload size', () =>
    expect(
      call(
        featureArgsz('VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 'SET'),
        featureFlags('VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 'SET'),
      ),
    ).toMatchObject({
      ok: true,
      op: 'SET',
      payloadSize: 8,
    }));
});
