import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSpec, REPO_ROOT } from '../../generator/ir/load.js';
import type { Ir } from '../../generator/ir/types.js';
import { headerCheck, type HeaderCheckReport } from '../../generator/header/check.js';
import { renderProbe, PROBE_PATH } from '../../generator/emit/c-probe/emit.js';
import { compareReleases } from '../../spec/dsl/release.js';
import { fetchLibcDev, HeadersUnavailable, pinFor } from './libc-dev.js';

let ir: Ir;
let system: HeaderCheckReport;
const systemIs61 = /LINUX_VERSION_CODE (\d+)/.test(readFileSync('/usr/include/linux/version.h', 'utf8'))
  ? Number(/LINUX_VERSION_CODE (\d+)/.exec(readFileSync('/usr/include/linux/version.h', 'utf8'))![1]) >> 8 === 0x601
  : false;

beforeAll(async () => {
  ir = await loadSpec(undefined, { docs: false });
  system = headerCheck(ir);
});

const absentItems = (r: HeaderCheckReport) => new Set(r.absent.map((a) => a.item));
const result = (r: HeaderCheckReport, id: string) => r.checks.find((c) => c.id === id);

describe.runIf(systemIs61)('header-check against the system Linux 6.1 headers', () => {
  it('has zero mismatches', () => {
    expect(system.mismatches).toEqual([]);
    expect(system.headerVersion).toMatch(/^6\.1\./);
    expect(system.counts.verified).toBeGreaterThan(200);
  });

  it('lists what arrived after 6.1 as absent', () => {
    const absent = absentItems(system);
    for (const item of [
      'VFIO_DEVICE_STATE_PRE_COPY',
      'VFIO_DEVICE_STATE_PRE_COPY_P2P',
      'VFIO_MIGRATION_PRE_COPY',
      'VFIO_MIG_GET_PRECOPY_INFO',
      'vfio_precopy_info',
      'VFIO_DEVICE_FEATURE_MIG_DATA_SIZE',
      'vfio_device_feature_mig_data_size',
      'VFIO_DEVICE_BIND_IOMMUFD',
      'VFIO_DEVICE_ATTACH_IOMMUFD_PT',
      'vfio_device_bind_iommufd',
      'IOMMU_IOAS_ALLOC',
      'iommu_ioas_alloc',
      'VFIO_PRECOPY_INFO_REINIT',
      'VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2',
      'vfio_device_info.pad',
    ]) {
      expect(absent, item).toContain(item);
    }
    for (const a of system.absent) expect(compareReleases(a.since, '6.1'), a.item).toBeGreaterThan(0);
  });

  it('checks vfio_device_info at its 6.1 size (20 bytes: pad arrived in 6.6)', () => {
    expect(result(system, 'size vfio_device_info')).toMatchObject({ status: 'verified', actual: 20 });
    expect(result(system, 'offset vfio_device_info.cap_offset')).toMatchObject({ status: 'verified', actual: 16 });
    expect(result(system, 'ioctl VFIO_DEVICE_FEATURE')).toMatchObject({ status: 'verified', actual: 0x3b75 });
    expect(result(system, 'constant VFIO_DEVICE_STATE_RUNNING_P2P')).toMatchObject({ status: 'verified', actual: 5 });
  });

  it('accounts for every item of the header: in the spec or in its out-of-scope list', () => {
    expect(system.unknown).toEqual([]);
    expect(system.outOfScope).toBeGreaterThan(50);
  });

  it('reports an item as unknown, with its kind and header, once the out-of-scope list drops it', () => {
    const bad = structuredClone(ir);
    delete bad.outOfScope.VFIO_TYPE1_NESTING_IOMMU;
    delete bad.outOfScope.vfio_region_info_cap_sparse_mmap;
    delete bad.outOfScope.VFIO_PCI_BAR0_REGION_INDEX;
    const r = headerCheck(bad);
    expect(r.unknown).toEqual([
      { kind: 'enumerator', name: 'VFIO_PCI_BAR0_REGION_INDEX', file: 'linux/vfio.h' },
      { kind: 'macro', name: 'VFIO_TYPE1_NESTING_IOMMU', file: 'linux/vfio.h', definition: '6' },
      { kind: 'struct', name: 'vfio_region_info_cap_sparse_mmap', file: 'linux/vfio.h' },
    ]);
    expect(r.counts.unknown).toBe(3);
    expect(r.mismatches).toEqual([]);
  });
});

describe.runIf(systemIs61)('header-check names each wrong item and hides none', () => {
  it('reports an ioctl number, a struct size, a field offset and a constant changed in memory', () => {
    const bad = structuredClone(ir);
    bad.ioctls.VFIO_DEVICE_FEATURE!.number = 0x3b99;
    // the probe checks each release's layout: change the current one on both ABIs
    const migState = bad.structs.vfio_device_feature_mig_state!.versions.at(-1)!;
    migState.lp64.size = migState.i386.size = 12;
    const groupFlags = bad.structs.vfio_group_status!.versions.at(-1)!.fields[1]!;
    groupFlags.lp64.offset = groupFlags.i386.offset = 8;
    bad.constants.VFIO_DEVICE_FEATURE_PROBE = 1 << 19;
    const r = headerCheck(bad);
    const ids = r.mismatches.map((m) => m.id).sort();
    expect(ids).toEqual(
      [
        'constant VFIO_DEVICE_FEATURE_PROBE',
        'ioctl VFIO_DEVICE_FEATURE',
        'offset vfio_group_status.flags',
        'size vfio_device_feature_mig_state',
      ].sort(),
    );
    expect(result(r, 'ioctl VFIO_DEVICE_FEATURE')?.detail).toBe('header has 0x3b75, spec says 0x3b99');
    expect(r.counts.verified).toBe(system.counts.verified - 4);
  });

  it('reports a wrong `since` both ways: defined too early, and missing though its release is present', () => {
    const bad = structuredClone(ir);
    bad.constantInfo.VFIO_DEVICE_FEATURE_DMA_LOGGING_START!.since = '6.2'; // really 6.1
    bad.structs.vfio_precopy_info!.since = '5.18'; // really 6.2: struct missing from 6.1
    const r = headerCheck(bad);
    expect(result(r, 'constant VFIO_DEVICE_FEATURE_DMA_LOGGING_START')).toMatchObject({ status: 'mismatch' });
    expect(result(r, 'constant VFIO_DEVICE_FEATURE_DMA_LOGGING_START')?.detail).toMatch(/predates/);
    expect(result(r, 'size vfio_precopy_info')).toMatchObject({ status: 'mismatch' });
    expect(result(r, 'size vfio_precopy_info')?.detail).toMatch(/missing/);
    // everything else still checked
    expect(r.counts.verified).toBe(system.counts.verified - 1);
  });

  it('the committed probe is the one the spec renders, and fails as _Static_assert in static mode', () => {
    expect(readFileSync(join(REPO_ROOT, PROBE_PATH), 'utf8')).toBe(renderProbe(ir));
    const dir = mkdtempSync(join(tmpdir(), 'vfio-uapi-static-'));
    try {
      const ok = spawnSync(
        'gcc',
        ['-std=gnu11', '-fsyntax-only', '-DVFIO_UAPI_PROBE_STATIC', join(REPO_ROOT, PROBE_PATH)],
        { encoding: 'utf8' },
      );
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      const bad = structuredClone(ir);
      bad.ioctls.VFIO_DEVICE_GET_INFO!.number = 1;
      const irqInfo = bad.structs.vfio_irq_info!.versions.at(-1)!;
      irqInfo.lp64.size = irqInfo.i386.size = 20;
      writeFileSync(join(dir, 'p.c'), renderProbe(bad));
      const r = spawnSync('gcc', ['-std=gnu11', '-fsyntax-only', '-DVFIO_UAPI_PROBE_STATIC', join(dir, 'p.c')], {
        encoding: 'utf8',
      });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('ioctl VFIO_DEVICE_GET_INFO differs from the spec');
      expect(r.stderr).toContain('size vfio_irq_info differs from the spec');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('header-check against the Linux 6.12.95 uapi headers (bookworm-backports linux-libc-dev, pinned)', () => {
  let include: string | undefined;
  let skip = '';
  beforeAll(() => {
    try {
      include = fetchLibcDev(pinFor('6.12.95'));
    } catch (error) {
      if (!(error instanceof HeadersUnavailable)) throw error;
      skip = error.message;
    }
  }, 120_000);

  it('has zero mismatches; PRE_COPY, PRECOPY_INFO, MIG_DATA_SIZE and cdev/iommufd verified; only 6.13+ absent', (ctx) => {
    if (!include) {
      console.warn(`SKIPPED 6.12 header-check: ${skip}`);
      ctx.skip();
      return;
    }
    const r = headerCheck(ir, { include });
    expect(r.mismatches).toEqual([]);
    expect(r.headerVersion).toMatch(/^6\.12\./);
    for (const id of [
      'constant VFIO_DEVICE_STATE_PRE_COPY',
      'constant VFIO_DEVICE_STATE_PRE_COPY_P2P',
      'constant VFIO_MIGRATION_PRE_COPY',
      'ioctl VFIO_MIG_GET_PRECOPY_INFO',
      'size vfio_precopy_info',
      'constant VFIO_DEVICE_FEATURE_MIG_DATA_SIZE',
      'ioctl VFIO_DEVICE_BIND_IOMMUFD',
      'ioctl VFIO_DEVICE_ATTACH_IOMMUFD_PT',
      'ioctl VFIO_DEVICE_DETACH_IOMMUFD_PT',
      'ioctl IOMMU_IOAS_ALLOC',
      'size iommu_ioas_alloc',
      'constant VFIO_DEVICE_STATE_NR',
    ]) {
      expect(result(r, id)?.status, id).toBe('verified');
    }
    expect(result(r, 'size vfio_device_bind_iommufd')).toMatchObject({ status: 'verified', actual: 16 });
    expect(result(r, 'size vfio_device_info')).toMatchObject({ status: 'verified', actual: 24 });
    for (const a of r.absent) expect(compareReleases(a.since, '6.13'), a.item).toBeGreaterThanOrEqual(0);
    expect(absentItems(r)).toContain('vfio_device_bind_iommufd.token_uuid_ptr');
  });
});
