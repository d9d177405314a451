/**
 * `revision({ asOf })` gives the uAPI as that release had it, fields included: a field renamed or retyped
 * later (`was`) comes back in its old name and type, so the projected IR has that release's LP64 and i386
 * layouts. Checked against what gcc measured in Debian's linux-libc-dev packages
 * (test/fixtures/kernel-layouts/, facts, not the IR compared with itself).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as spec from '../../spec/vfio/index.js';
import { flex, struct, u32, u64, aligned_u64, was, revision } from '../../spec/dsl/index.js';
import { irFromExports, REPO_ROOT } from '../../generator/ir/load.js';
import type { Ir } from '../../generator/ir/types.js';
import { diffIr, loadSide, normaliseOverlay, resolveSide } from '../../generator/diff/index.js';
import { readAllFixtures, releaseOf } from '../header/matrix.js';

const S = spec as unknown as Record<string, unknown>;
const asOf = async (release: string, over: Record<string, unknown> = {}): Promise<Ir> =>
  irFromExports(
    normaliseOverlay({ ...S, ...over, uapiRevision: revision({ label: release, asOf: release }) }).exports,
    { docs: false },
  );

const fixtures = readAllFixtures();
// A projection keeps the state machine only from 5.18 (migration v2); the 5.10 header predates it.
const projectable = fixtures.filter((f) => Number(releaseOf(f).split('.')[0]) > 5);

describe('asOf gives each release its own layouts', () => {
  it('covers every header of the matrix from 5.18 on', () => {
    expect(projectable.map((f) => f.source.linuxVersionCode).sort()).toEqual([
      '6.1.176',
      '6.12.117',
      '6.12.95',
      '7.2.13',
      '7.3.4',
    ]);
  });

  describe.each(projectable.map((f) => [f.source.version, f] as const))('linux-libc-dev %s', (_v, fx) => {
    it.each(['lp64', 'i386'] as const)(
      '%s: every struct has the size, alignment and members gcc measured',
      async (abi) => {
        const ir = await asOf(releaseOf(fx));
        const facts = fx[abi].structs;
        expect(Object.keys(ir.structs).sort()).toEqual(Object.keys(facts).sort());
        for (const [name, f] of Object.entries(facts)) {
          const s = ir.structs[name]!;
          // What the diff compares: the struct's own size and alignment on each ABI…
          const own = abi === 'lp64' ? { size: s.size, align: s.align } : { size: s.i386.size, align: s.i386.align };
          expect([name, own]).toEqual([name, { size: f.size, align: f.align }]);
          // …and every member by the name the header gives it, at its offset and width.
          const v = s.versions.at(-1)!;
          const members = Object.fromEntries(
            v.fields.map((x) => [x.name, [x[abi].offset, x.flex ? null : x[abi].size]]),
          );
          expect([name, members]).toEqual([name, f.fields]);
        }
      },
    );
  });

  it('Linux 6.1 (examples/uapi-history/v6.1): the plain __u64 fields and 4-aligned i386 structs of before 6.7', async () => {
    const ir = (await loadSide(resolveSide(join(REPO_ROOT, 'examples/uapi-history/v6.1')), { docs: false })).ir;
    const i386 = (n: string) => [ir.structs[n]!.i386.size, ir.structs[n]!.i386.align];
    expect(i386('vfio_region_info')).toEqual([32, 4]);
    expect(i386('vfio_iommu_type1_info')).toEqual([20, 4]);
    expect(i386('vfio_device_ioeventfd')).toEqual([28, 4]);
    expect(i386('vfio_device_migration_info')).toEqual([32, 4]);
    const size = ir.structs.vfio_region_info!.fields.find((f) => f.name === 'size')!;
    // Only the declaration changed in 6.7: the field keeps its meaning (written by the kernel).
    expect([size.type, size.direction, size.history]).toEqual(['__u64', 'out', undefined]);
    expect(ir.structs.vfio_device_ioeventfd!.fields.map((f) => `${f.name}: ${f.type}`)).toEqual([
      'argsz: __u32',
      'flags: __u32',
      'offset: __u64',
      'data: __u64',
      'fd: __s32',
    ]);
  });

  it('a diff across 6.7 reports the retypes as compatible, with no type change or i386 break', async () => {
    const load = async (p: string) =>
      (await loadSide(resolveSide(join(REPO_ROOT, 'examples/uapi-history', p)), { docs: false })).ir;
    const cs = diffIr(await load('v6.1'), await load('v7.0'));
    const about = (item: string) =>
      cs
        .filter((c) => c.item === item || c.item.startsWith(`${item}.`))
        .map((c) => `${c.rule} ${c.item} ${c.severity}`)
        .sort();
    expect(about('vfio_region_info')).toEqual([
      'struct.field-alignment-changed vfio_region_info.offset compatible',
      'struct.field-alignment-changed vfio_region_info.size compatible',
      'struct.i386-alignment-changed vfio_region_info compatible',
    ]);
    expect(about('vfio_iommu_type1_info')).toEqual([
      'struct.field-added vfio_iommu_type1_info.pad needs-review',
      'struct.field-alignment-changed vfio_iommu_type1_info.iova_pgsizes compatible',
      'struct.i386-grew-within-argsz vfio_iommu_type1_info compatible',
    ]);
    expect(cs.filter((c) => c.rule === 'struct.field-type-changed' && /__u64/.test(c.message))).toEqual([]);
  });
});

describe('a field renamed later comes back under its old name', () => {
  const counted = (name: string) =>
    struct(
      'vfio_test_renamed',
      {
        argsz: u32.argsz(),
        count: was(u32, { until: '6.5', name: 'nr' }),
        cap_offset: was(u32.out(), { until: '6.3', name: 'resv', type: u32.reserved() }),
        size: was(aligned_u64.out(), { until: '6.7', type: u64 }),
        items: flex(u32, { countedBy: 'count' }),
      },
      { since: '6.1', minsz: name },
    );

  it('before each rename: the old names, the counter and minsz follow, a role-stating old type brings its role', async () => {
    const ir = await asOf('6.2', { vfio_test_renamed: counted('count') });
    const s = ir.structs.vfio_test_renamed!;
    expect(s.fields.map((f) => f.name)).toEqual(['argsz', 'nr', 'resv', 'size', 'items']);
    const f = (n: string) => s.fields.find((x) => x.name === n)!;
    expect([f('resv').role.kind, f('resv').direction]).toEqual(['reserved', 'inout']);
    expect([f('size').type, f('size').direction]).toEqual(['__u64', 'out']);
    expect(f('items').ir).toMatchObject({ kind: 'flex', countedBy: 'nr' });
    expect(s.minsz).toBe(8); // minsz 'count' is 'nr' in 6.2: offsetofend = 8
    // Earlier revisions stay; those that end after 6.2 are gone.
    expect(f('nr').history).toBeUndefined();
  });

  it('between renames: only the renames still to come are undone', async () => {
    const s = (await asOf('6.4', { vfio_test_renamed: counted('count') })).structs.vfio_test_renamed!;
    expect(s.fields.map((f) => f.name)).toEqual(['argsz', 'nr', 'cap_offset', 'size', 'items']);
    const cap = s.fields.find((f) => f.name === 'cap_offset')!;
    expect([cap.role.kind, cap.direction, cap.history]).toEqual([
      'plain',
      'out',
      [{ until: '6.3', name: 'resv', type: '__u32' }],
    ]);
  });

  it('a diff from before the renames reports renames, not removed and added fields', async () => {
    const cs = diffIr(
      await asOf('6.2', { vfio_test_renamed: counted('count') }),
      await asOf('6.7', { vfio_test_renamed: counted('count') }),
    );
    const mine = cs.filter((c) => c.item.startsWith('vfio_test_renamed')).map((c) => `${c.rule} ${c.item}`);
    expect(mine).toContain('struct.field-renamed vfio_test_renamed.nr');
    expect(mine).toContain('struct.field-renamed vfio_test_renamed.resv');
    expect(mine.filter((r) => /field-removed|field-added|type-changed/.test(r))).toEqual([]);
  });
});
