// `npm run test:headers`: the header matrix. Every pinned Debian linux-libc-dev (test/header/libc-dev.ts) is
// fetched into the cache outside the clone, and for each of them, on LP64 and on i386 (gcc -m32):
//   - `header-check` must find 0 mismatched and 0 unknown items;
//   - the layouts and values measured by gcc must equal the committed fixture
//     test/fixtures/kernel-layouts/<kernel>.json (--write-fixtures rewrites them instead);
// and every name of the spec's out-of-scope list must occur in at least one header (no stale entries).
// One table is printed. Exit 0 when every cell passes (cells whose package could not be downloaded are
// reported as SKIPPED and do not fail the run, unless VFIO_UAPI_REQUIRE_HEADERS=1); 1 otherwise; 2 on bad
// arguments.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadSpec, REPO_ROOT } from '../../generator/ir/load.js';
import type { Ir } from '../../generator/ir/types.js';
import { HeaderToolError, headerCheck, headerFlags, type Abi } from '../../generator/header/check.js';
import { CC } from '../../generator/header/gcc.js';
import { headerInventory, preprocessedByFile } from '../../generator/header/inventory.js';
import { HEADER_MATRIX, HeadersUnavailable, PACKAGE, debPathOf, fetchLibcDev, type LibcDevPin } from './libc-dev.js';
import { measureHeader, type HeaderFacts } from './measure.js';

export const FIXTURE_DIR = join(REPO_ROOT, 'test/fixtures/kernel-layouts');
export const ABIS: readonly Abi[] = ['lp64', 'i386'];

export interface LayoutFixture {
  about: string;
  source: {
    package: string;
    version: string;
    architecture: string;
    suite: string;
    sha256: string | null;
    linuxVersionCode: string;
    headers: string[];
  };
  measuredBy: { compiler: string; lp64: string; i386: string; what: string };
  lp64: HeaderFacts;
  i386: HeaderFacts;
}

export const fixturePath = (pin: LibcDevPin) => join(FIXTURE_DIR, `${pin.kernel}.json`);

export function readFixture(pin: LibcDevPin): LayoutFixture | undefined {
  const p = fixturePath(pin);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as LayoutFixture) : undefined;
}

/** Every committed layout fixture (the layout tests read them offline). */
export function readAllFixtures(): LayoutFixture[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(FIXTURE_DIR, f), 'utf8')) as LayoutFixture);
}

/** The release (major.minor) of the headers a fixture was measured from. */
export const releaseOf = (f: LayoutFixture) => f.source.linuxVersionCode.split('.').slice(0, 2).join('.');

function compilerVersion(): string {
  return spawnSync(CC, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]!.trim();
}

function sha256(file: string): string | null {
  return existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : null;
}

/** The first differences between two JSON values, as `path: a != b` lines. */
function differences(a: unknown, b: unknown, path = '', out: string[] = []): string[] {
  if (out.length >= 12) return out;
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of [...keys].sort())
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k, out);
    return out;
  }
  if (JSON.stringify(a) !== JSON.stringify(b))
    out.push(`${path}: fixture ${JSON.stringify(a) ?? 'absent'}, header ${JSON.stringify(b) ?? 'absent'}`);
  return out;
}

interface Cell {
  pin: LibcDevPin;
  abi: Abi;
  status: 'ok' | 'fail' | 'skipped';
  counts?: { verified: number; absent: number; retired: number; mismatched: number; unknown: number };
  outOfScope?: number;
  fixture?: 'same' | 'written' | 'differs' | 'missing';
  notes: string[];
}

export async function runMatrix(opts: { writeFixtures: boolean; ir?: Ir }): Promise<{ cells: Cell[]; exit: number }> {
  const ir = opts.ir ?? (await loadSpec(undefined, { docs: false }));
  const cells: Cell[] = [];
  const seen = new Set<string>();
  let allFetched = true;
  let gone = false;
  for (const pin of HEADER_MATRIX) {
    let include: string;
    try {
      include = fetchLibcDev(pin);
    } catch (error) {
      if (!(error instanceof HeadersUnavailable)) throw error;
      allFetched = false;
      if (error.kind === 'gone') gone = true;
      for (const abi of ABIS)
        cells.push({ pin, abi, status: error.kind === 'gone' ? 'fail' : 'skipped', notes: [error.message] });
      continue;
    }
    for (const i of headerInventory(preprocessedByFile(headerFlags({ include })))) seen.add(i.name);
    const old = readFixture(pin);
    const fixture: LayoutFixture = {
      about:
        'Layout facts of one Debian linux-libc-dev, measured by gcc from the package itself (never from the spec). ' +
        'Regenerate with `npm run test:headers -- --write-fixtures`; the layout tests compare the IR, the generated ' +
        'codecs and the koffi types with these files.',
      source: {
        package: PACKAGE,
        version: pin.version,
        architecture: pin.arch,
        suite: pin.suite,
        sha256: sha256(debPathOf(pin)) ?? old?.source.sha256 ?? null,
        linuxVersionCode: pin.kernel,
        headers: ['linux/vfio.h', 'linux/iommufd.h'],
      },
      measuredBy: {
        compiler: compilerVersion(),
        lp64: `${CC} -std=gnu11 (x86_64)`,
        i386: `${CC} -std=gnu11 -m32`,
        what:
          'sizeof, _Alignof, offsetof and member sizeof of every struct of the spec the header declares, by the ' +
          "header's own member names (a flexible array member has no size: null); the integer value of every " +
          'macro and enumerator of the header the spec names (current and earlier names, ioctl numbers)',
      },
      lp64: { structs: {}, values: {} },
      i386: { structs: {}, values: {} },
    };
    let measuredAll = true;
    for (const abi of ABIS) {
      const cell: Cell = { pin, abi, status: 'ok', notes: [] };
      cells.push(cell);
      try {
        const r = headerCheck(ir, { include, abi });
        cell.counts = r.counts;
        cell.outOfScope = r.outOfScope;
        if (r.headerVersion !== pin.kernel)
          cell.notes.push(`LINUX_VERSION_CODE is ${r.headerVersion}, the pin says ${pin.kernel}`);
        for (const m of r.mismatches) cell.notes.push(`mismatched: ${m.id}: ${m.detail ?? ''}`);
        for (const u of r.unknown) cell.notes.push(`unknown ${u.kind}: ${u.name} (${u.file})`);
        fixture[abi] = measureHeader(ir, include, abi);
        if (r.counts.mismatched || r.counts.unknown || r.headerVersion !== pin.kernel) cell.status = 'fail';
      } catch (error) {
        if (!(error instanceof HeaderToolError)) throw error;
        cell.status = 'fail';
        cell.notes.push(error.message);
        measuredAll = false;
      }
    }
    const measured = { lp64: fixture.lp64, i386: fixture.i386 };
    const committed = old ? { lp64: old.lp64, i386: old.i386 } : undefined;
    const diff = committed ? differences(committed, measured) : ['no fixture committed'];
    const verdict: Cell['fixture'] = !measuredAll
      ? undefined
      : opts.writeFixtures
        ? 'written'
        : !committed
          ? 'missing'
          : diff.length
            ? 'differs'
            : 'same';
    if (opts.writeFixtures && measuredAll) {
      mkdirSync(FIXTURE_DIR, { recursive: true });
      // written as prettier would, so `prettier --check` stays clean
      const prettier = await import('prettier');
      const config = (await prettier.resolveConfig(fixturePath(pin))) ?? {};
      writeFileSync(fixturePath(pin), await prettier.format(JSON.stringify(fixture), { ...config, parser: 'json' }));
    }
    for (const c of cells.filter((x) => x.pin === pin && x.status !== 'skipped' && verdict)) {
      c.fixture = verdict;
      if (verdict === 'differs' || verdict === 'missing') {
        c.status = 'fail';
        if (c.abi === 'lp64')
          c.notes.push(
            `fixture ${fixturePath(pin).slice(REPO_ROOT.length + 1)} ${verdict}: ${diff.join('; ')} (rerun with --write-fixtures if the header is right)`,
          );
      }
    }
  }
  const stale = allFetched ? Object.keys(ir.outOfScope).filter((n) => !seen.has(n)) : [];
  printTable(cells, stale, ir);
  const failed = cells.some((c) => c.status === 'fail') || stale.length > 0 || gone;
  const skipped = cells.filter((c) => c.status === 'skipped');
  const requireAll = process.env.VFIO_UAPI_REQUIRE_HEADERS === '1';
  return { cells, exit: failed || (requireAll && skipped.length) ? 1 : 0 };
}

function printTable(cells: Cell[], stale: string[], ir: Ir): void {
  const head = [
    'linux-libc-dev',
    'suite',
    'ABI',
    'verified',
    'absent',
    'retired',
    'mismatched',
    'unknown',
    'out of scope',
    'fixture',
  ];
  const rows = cells.map((c) => [
    c.pin.version,
    c.pin.suite,
    c.abi === 'lp64' ? 'LP64' : 'i386',
    ...(c.counts
      ? [
          c.counts.verified,
          c.counts.absent,
          c.counts.retired,
          c.counts.mismatched,
          c.counts.unknown,
          c.outOfScope ?? 0,
        ].map(String)
      : ['—', '—', '—', '—', '—', '—']),
    c.status === 'skipped' ? 'SKIPPED' : (c.fixture ?? '—'),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((x, i) => x.padEnd(width[i]!)).join(' | ')} |`;
  console.log(
    `header matrix: ${Object.keys(ir.structs).length} structs, ${Object.keys(ir.ioctls).length} ioctls, ` +
      `${Object.keys(ir.constants).length} constants of the spec against Debian's linux-libc-dev, LP64 and i386`,
  );
  console.log(line(head));
  console.log(`|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  const notes = cells.flatMap((c) => c.notes.map((n) => `  ${c.pin.version} ${c.abi}: ${n}`));
  if (notes.length) console.log(['', ...new Set(notes)].join('\n'));
  if (stale.length)
    console.log(`\nstale out-of-scope entries (in none of the headers): ${stale.join(', ')} — remove them`);
  const ok = cells.filter((c) => c.status === 'ok').length;
  const skipped = cells.filter((c) => c.status === 'skipped').length;
  const failed = cells.filter((c) => c.status === 'fail').length;
  console.log(
    `\n${ok} of ${cells.length} cells pass (0 mismatched, 0 unknown, fixture ${cells.some((c) => c.fixture === 'written') ? 'written' : 'equal'})` +
      (failed ? `, ${failed} FAIL` : '') +
      (skipped ? `, ${skipped} SKIPPED (package not downloadable; see above)` : ''),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--write-fixtures');
  if (unknown.length) {
    console.error(`test:headers: unknown argument ${unknown[0]} (the only option is --write-fixtures)`);
    process.exit(2);
  }
  const { exit } = await runMatrix({ writeFixtures: args.includes('--write-fixtures') });
  process.exit(exit);
}
