// `header-check --diff` suggestions load: applied to a copy of the spec as of 7.1, the suggestions for the
// Linux 7.3 header (Debian trixie-backports linux-libc-dev 7.3.4, pinned) give a spec that `vfio-uapi check`
// accepts and that `header-check` finds exact on 7.3 (LP64 and i386: 0 mismatched, 0 unknown). The
// suggestions use the spec's own identifiers, clash with no export, and write feature 13 as a feature.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpec, REPO_ROOT } from '../../generator/ir/load.js';
import type { Ir } from '../../generator/ir/types.js';
import { headerCheck } from '../../generator/header/check.js';
import { m32Problem } from '../../generator/header/gcc.js';
import { headerDiff } from '../../generator/header/diff.js';
import { applySuggestions, specIndex, suggest, type Suggestions } from '../../generator/header/suggest.js';
import { fetchLibcDev, HeadersUnavailable, pinFor } from './libc-dev.js';
import { specCopyAsOf } from './spec-as-of.js';

const scratch = mkdtempSync(join(tmpdir(), 'vfio-uapi-suggest-'));
let include: string | undefined;
let skip = '';
let before: Ir;
let beforeExports: Set<string>;
let suggestions: Suggestions;
let applied: string;

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(REPO_ROOT, 'packages/vfio-uapi/bin/vfio-uapi.js'), ...args], {
    encoding: 'utf8',
    cwd: scratch,
  });

beforeAll(async () => {
  try {
    include = fetchLibcDev(pinFor('7.3.4'));
  } catch (error) {
    if (!(error instanceof HeadersUnavailable)) throw error;
    skip = error.message;
    return;
  }
  // Two identical copies as of 7.1: one to compute the suggestions from, one to apply them to (a module
  // imported once stays cached, so the applied copy is imported fresh).
  const from = await specCopyAsOf(join(scratch, 'at-7.1'), '7.1');
  cpSync(join(scratch, 'at-7.1'), join(scratch, 'applied'), { recursive: true });
  applied = join(scratch, 'applied', 'vfio', 'index.ts');
  before = await loadSpec(from, { docs: false });
  const index = await specIndex(from);
  beforeExports = index.exportNames;
  suggestions = suggest(headerDiff(before, { include }), before, index);
  await applySuggestions(suggestions, { dir: join(scratch, 'applied', 'vfio'), module: applied });
}, 300_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('suggestions for the 7.3 header, applied to the spec as of 7.1', () => {
  it('start from a 7.1 spec that knows nothing of 7.3: exactly the 7.3 items are unknown', (ctx) => {
    if (!include) return ctx.skip(`SKIPPED: ${skip}`);
    const r = headerCheck(before, { include });
    expect(r.mismatches).toEqual([]);
    expect(r.unknown.map((u) => `${u.kind} ${u.name}`)).toEqual([
      'enumerator IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA',
      'macro IOMMU_IOAS_NOIOMMU_GET_PA',
      'macro VFIO_DEVICE_FEATURE_ZPCI_ERROR',
      'struct iommu_ioas_noiommu_get_pa',
      'struct vfio_device_feature_zpci_err',
    ]);
  });

  it("write the spec's identifiers, clash with no export, and make feature 13 a feature", (ctx) => {
    if (!include) return ctx.skip(`SKIPPED: ${skip}`);
    const m = suggestions.module;
    expect(suggestions.fileName).toBe('suggested-7.3.ts');
    expect(m).toContain("import { IOMMUFD_CMD_BASE, Iommufd } from './base.js';");
    expect(m).not.toMatch(/IommuFd/);
    expect(m).toContain("export const ZPCI_ERROR = feature(13, 'ZPCI_ERROR', {");
    expect(m).toContain('payload: vfio_device_feature_zpci_err,');
    expect(m).toContain("export const IOMMU_IOAS_NOIOMMU_GET_PA = ioctl('IOMMU_IOAS_NOIOMMU_GET_PA', {");
    expect(m).toContain('nr: IOMMUFD_CMD_BASE.value + 0x15,');
    expect(m).toContain('arg: byPointer(iommu_ioas_noiommu_get_pa),');
    expect(m).not.toMatch(/since: '(?!7\.3')/);
    expect(suggestions.additions).toMatchObject([
      {
        exportName: 'iommufd_cmd',
        key: 'IOAS_NOIOMMU_GET_PA',
        value: 0x95,
        text: "IOAS_NOIOMMU_GET_PA: { value: 0x95, since: '7.3' }",
      },
    ]);
    // no export of the new module collides with the spec's
    const exported = [...m.matchAll(/^export const (\w+)/gm)].map((x) => x[1]!);
    expect(exported.length).toBe(4);
    expect(exported.filter((n) => beforeExports.has(n))).toEqual([]);
  });

  it('load: `vfio-uapi check` accepts the spec with the suggestions applied', (ctx) => {
    if (!include) return ctx.skip(`SKIPPED: ${skip}`);
    const r = cli('check', '--spec', applied);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^spec ok: 39 structs, 43 ioctls/);
  });

  it.for(['lp64', 'i386'] as const)('%s: header-check against 7.3 passes: 0 mismatched, 0 unknown', (abi, ctx) => {
    if (!include) return ctx.skip(`SKIPPED: ${skip}`);
    if (abi === 'i386' && m32Problem()) return ctx.skip(`SKIPPED: ${m32Problem()}`);
    const r = cli('header-check', '--spec', applied, '--include', include, '--abi', abi, '--json');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { counts: Record<string, number> };
    expect(report.counts).toMatchObject({ mismatched: 0, unknown: 0, absent: 0 });
  });
});

describe('suggestions never reuse a name and tell features from other values (no header needed)', () => {
  it('a new flag set whose natural name is taken gets a fresh one, as export and as C name', async () => {
    const ir = await loadSpec(undefined, { docs: false });
    const index = await specIndex(join(REPO_ROOT, 'spec/vfio/index.ts'));
    expect(index.exportNames.has('vfio_dma_map_flags')).toBe(true);
    const s = suggest(
      {
        include: null,
        headerVersion: '7.4.0',
        macros: [
          { kind: 'macro', name: 'VFIO_DMA_MAP_X1', definition: '(1 << 0)', value: 1 },
          { kind: 'macro', name: 'VFIO_DMA_MAP_X2', definition: '(1 << 1)', value: 2 },
          { kind: 'macro', name: 'VFIO_DEVICE_FEATURE_NEXT', definition: '14', value: 14 },
          { kind: 'enumerator', name: 'IOMMUFD_CMD_SOMETHING', definition: '', value: 0x96 },
          // the extension ids' prefix is one word: a new VFIO_ macro does not join them
          { kind: 'macro', name: 'VFIO_SOMETHING_NEW', definition: '11', value: 11 },
        ],
        structs: [],
      },
      ir,
      index,
    );
    expect(s.module).toContain("export const vfio_dma_map_flags_2 = flags(\n  'vfio_dma_map_flags_2',");
    expect(s.module).toContain("export const NEXT = feature(14, 'NEXT', {");
    expect(s.module).toContain(
      "export const VFIO_SOMETHING_NEW = constant('VFIO_SOMETHING_NEW', 0xb, { since: '7.4' });",
    );
    expect(s.additions.map((a) => [a.exportName, a.key, a.value, a.file])).toEqual([
      ['iommufd_cmd', 'SOMETHING', 0x96, 'cdev.ts'],
    ]);
  });
});
