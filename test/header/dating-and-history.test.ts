// header-check reads old headers exactly: the Linux 5.10 header (Debian bullseye linux-libc-dev, pinned) has
// the v1 migration protocol, whose VFIO_DEVICE_STATE_STOP/RUNNING/RESUMING are 0/1/4 — names the 5.18
// state machine reuses with other values. The release is never inferred from such a name;
// LINUX_VERSION_CODE wins when the header has one; each reused name is reported with both meanings.
// Needs the pinned packages (fetched once into the cache outside the clone); skips with the reason otherwise.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../../generator/ir/load.js';
import type { Ir } from '../../generator/ir/types.js';
import { headerCheck, type HeaderCheckReport } from '../../generator/header/check.js';
import { m32Problem } from '../../generator/header/gcc.js';
import { fetchLibcDev, HeadersUnavailable, pinFor } from './libc-dev.js';

let ir: Ir;
const include: Record<string, string | undefined> = {};
let skip = '';
const scratch = mkdtempSync(join(tmpdir(), 'vfio-uapi-dating-'));

beforeAll(async () => {
  ir = await loadSpec(undefined, { docs: false });
  for (const k of ['5.10.223', '6.1.176']) {
    try {
      include[k] = fetchLibcDev(pinFor(k));
    } catch (error) {
      if (!(error instanceof HeadersUnavailable)) throw error;
      skip = error.message;
    }
  }
}, 300_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const result = (r: HeaderCheckReport, id: string) => r.checks.find((c) => c.id === id);

/** A copy of an include tree (by symlinks) whose linux/version.h is replaced by `version` (or left out). */
function withVersion(from: string, name: string, version: string | null): string {
  const root = join(scratch, name);
  mkdirSync(join(root, 'linux'), { recursive: true });
  for (const e of readdirSync(from)) if (e !== 'linux') symlinkSync(join(from, e), join(root, e));
  for (const f of readdirSync(join(from, 'linux')))
    if (f !== 'version.h') symlinkSync(join(from, 'linux', f), join(root, 'linux', f));
  if (version) {
    const [a, b, c] = version.split('.').map(Number);
    writeFileSync(join(root, 'linux', 'version.h'), `#define LINUX_VERSION_CODE ${(a! << 16) + (b! << 8) + c!}\n`);
  }
  return root;
}

describe('the Linux 5.10 header (migration v1) is read exactly', () => {
  it.for(['lp64', 'i386'] as const)(
    '%s: 0 mismatched, 0 unknown; the v1 names checked with their v1 values',
    (abi, ctx) => {
      if (!include['5.10.223']) return ctx.skip(`SKIPPED: ${skip}`);
      if (abi === 'i386' && m32Problem()) return ctx.skip(`SKIPPED: ${m32Problem()}`);
      const r = headerCheck(ir, { include: include['5.10.223'], abi });
      expect(r.mismatches).toEqual([]);
      expect(r.unknown).toEqual([]);
      expect([r.headerVersion, r.datedBy]).toEqual(['5.10.223', 'LINUX_VERSION_CODE']);
      for (const [name, value] of [
        ['VFIO_DEVICE_STATE_STOP', 0],
        ['VFIO_DEVICE_STATE_RUNNING', 1],
        ['VFIO_DEVICE_STATE_SAVING', 2],
        ['VFIO_DEVICE_STATE_RESUMING', 4],
        ['VFIO_REGION_TYPE_MIGRATION', 3],
        ['VFIO_REGION_SUBTYPE_MIGRATION', 1],
      ] as const)
        expect(result(r, `constant ${name} (5.8 until 5.18)`)).toMatchObject({ status: 'verified', actual: value });
      // the 5.18 meanings (and the _V1_ / _DEPRECATED names) are newer than this header
      for (const id of [
        'constant VFIO_DEVICE_STATE_STOP',
        'constant VFIO_DEVICE_STATE_V1_STOP',
        'constant VFIO_REGION_TYPE_MIGRATION_DEPRECATED',
        'constant VFIO_DEVICE_FEATURE_MIGRATION',
      ])
        expect(result(r, id)?.status, id).toBe('absent');
      expect(result(r, 'size vfio_device_migration_info')).toMatchObject({ status: 'verified', actual: 32 });
      expect(result(r, 'constant VFIO_DEVICE_STATE_MASK')).toMatchObject({ status: 'verified', actual: 7 });
    },
  );

  it('reports each reused name with both meanings and the one this header has', (ctx) => {
    if (!include['5.10.223']) return ctx.skip(`SKIPPED: ${skip}`);
    const r = headerCheck(ir, { include: include['5.10.223'] });
    const stop = r.collisions.find((c) => c.name === 'VFIO_DEVICE_STATE_STOP');
    expect(stop).toEqual({
      name: 'VFIO_DEVICE_STATE_STOP',
      meanings: [
        { value: 0, from: '5.8', until: '5.18', now: 'VFIO_DEVICE_STATE_V1_STOP' },
        { value: 1, from: '5.18', now: 'VFIO_DEVICE_STATE_STOP' },
      ],
      inHeader: { value: 0, from: '5.8', until: '5.18', now: 'VFIO_DEVICE_STATE_V1_STOP' },
      status: 'verified',
    });
    expect(r.collisions.map((c) => c.name)).toEqual([
      'VFIO_DEVICE_STATE_RESUMING',
      'VFIO_DEVICE_STATE_RUNNING',
      'VFIO_DEVICE_STATE_STOP',
    ]);
  });

  it('has the i386 layouts of before 6.7 (plain __u64 4-aligned): ioeventfd 28/4, type1 info 20/4', (ctx) => {
    if (!include['5.10.223']) return ctx.skip(`SKIPPED: ${skip}`);
    if (m32Problem()) return ctx.skip(`SKIPPED: ${m32Problem()}`);
    const i386 = headerCheck(ir, { include: include['5.10.223'], abi: 'i386' });
    const lp64 = headerCheck(ir, { include: include['5.10.223'] });
    expect(result(i386, 'size vfio_device_ioeventfd')).toMatchObject({ status: 'verified', actual: 28 });
    expect(result(i386, 'align vfio_device_ioeventfd')).toMatchObject({ status: 'verified', actual: 4 });
    expect(result(i386, 'size vfio_iommu_type1_info')).toMatchObject({ status: 'verified', actual: 20 });
    expect(result(i386, 'align vfio_region_info')).toMatchObject({ status: 'verified', actual: 4 });
    expect(result(lp64, 'size vfio_device_ioeventfd')).toMatchObject({ status: 'verified', actual: 32 });
    expect(result(lp64, 'size vfio_iommu_type1_info')).toMatchObject({ status: 'verified', actual: 24 });
    expect(result(lp64, 'offset vfio_iommu_type1_dma_unmap.data')).toMatchObject({ status: 'verified', actual: 24 });
  });
});

describe('dating a header', () => {
  it('without linux/version.h: by names that never meant anything else, so 5.10 is still 5.10', (ctx) => {
    if (!include['5.10.223']) return ctx.skip(`SKIPPED: ${skip}`);
    const r = headerCheck(ir, { include: withVersion(include['5.10.223'], 'v510-no-version', null) });
    expect([r.headerVersion, r.datedBy]).toEqual([null, 'witness macros']);
    expect(r.mismatches).toEqual([]);
    expect(result(r, 'constant VFIO_DEVICE_STATE_STOP (5.8 until 5.18)')).toMatchObject({
      status: 'verified',
      actual: 0,
    });
    expect(result(r, 'constant VFIO_DEVICE_STATE_STOP')?.status).toBe('absent');
  });

  it('LINUX_VERSION_CODE wins over the names: a 6.1 tree that says 5.10 is read as 5.10 (and fails loudly)', (ctx) => {
    if (!include['6.1.176']) return ctx.skip(`SKIPPED: ${skip}`);
    const r = headerCheck(ir, { include: withVersion(include['6.1.176'], 'v61-says-510', '5.10.0') });
    expect([r.headerVersion, r.datedBy]).toEqual(['5.10.0', 'LINUX_VERSION_CODE']);
    // the 5.18 enumerator STOP = 1 is measured where a 5.10 header has the v1 macro 0
    expect(result(r, 'constant VFIO_DEVICE_STATE_STOP (5.8 until 5.18)')).toMatchObject({
      status: 'mismatch',
      actual: 1,
      expected: 0,
    });
    // a macro of 5.18 in a header that says it is 5.10
    expect(result(r, 'constant VFIO_DEVICE_FEATURE_MIGRATION')?.detail).toMatch(/predates the spec's since 5.18/);
  });
});
