/**
 * Running gcc for the header tools: include flags for a header directory, preprocessing, and
 * compile-and-run of generated C in which any line that fails to compile is dropped and reported,
 * so one bad item never hides the rest.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CC = process.env.CC ?? 'gcc';

export function gcc(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(CC, args, { encoding: 'utf8', input, maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`cannot run ${CC}: ${r.error.message}`);
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `-I` flags for a directory of uapi headers (plus its per-architecture asm directory, as Debian lays them
 * out: `x86_64-linux-gnu/asm`, and from 6.12, when linux-libc-dev became `Architecture: all`, one asm folder
 * per architecture). For i386 the `i386-linux-gnu` folder is used when there is one; the x86 asm headers
 * serve both ABIs, so an older package's `x86_64-linux-gnu` folder does too.
 */
export function includeFlags(dir: string | undefined, abi: 'lp64' | 'i386' = 'lp64'): string[] {
  if (!dir) return [];
  const flags: string[] = [];
  const triplet = gcc(['-dumpmachine']).stdout.trim();
  const candidates = abi === 'i386' ? ['i386-linux-gnu', triplet] : [triplet];
  const asm = candidates.find((t) => t && existsSync(join(dir, t)));
  if (asm) flags.push('-I', join(dir, asm));
  flags.push('-I', dir);
  // A bare uapi tree has no version.h: do not let the system's one stand in for it.
  if (!existsSync(join(dir, 'linux', 'version.h'))) flags.push('-DVU_NO_VERSION');
  return flags;
}

/** The headers the tools read, as a translation unit. */
export const HEADERS_TU = [
  '#include <linux/types.h>',
  '#include <linux/vfio.h>',
  '#if __has_include(<linux/iommufd.h>)',
  '#include <linux/iommufd.h>',
  '#endif',
  '#if !defined(VU_NO_VERSION) && __has_include(<linux/version.h>)',
  '#include <linux/version.h>',
  '#endif',
  '',
].join('\n');

/** `gcc -dM -E`: every macro the headers define, name → replacement text (object-like only, plus whether function-like). */
export function macrosOf(flags: string[]): Map<string, { value: string; functionLike: boolean }> {
  const r = gcc(['-std=gnu11', '-dM', '-E', ...flags, '-x', 'c', '-'], HEADERS_TU);
  if (r.status !== 0) throw new Error(`${CC} -dM -E failed:\n${r.stderr.trim()}`);
  const out = new Map<string, { value: string; functionLike: boolean }>();
  for (const line of r.stdout.split('\n')) {
    const m = /^#define ([A-Za-z_]\w*)(\([^)]*\))?(?: (.*))?$/.exec(line);
    if (m?.[1]) out.set(m[1], { value: m[3] ?? '', functionLike: !!m[2] });
  }
  return out;
}

export interface RunResult {
  stdout: string;
  /** Lines that did not compile: the line's text and gcc's first error for it. */
  dropped: { line: number; text: string; error: string }[];
  exitCode: number;
  compiles: number;
}

/**
 * Compile `source` and run it. Lines gcc rejects are replaced by `replace(text)` (or blanked) and the
 * compile is retried, up to `maxRounds` times. Errors outside replaceable lines are fatal.
 */
export function compileAndRun(
  source: string,
  flags: string[],
  replace: (text: string) => string | null,
  maxRounds = 6,
): RunResult {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-uapi-hc-'));
  try {
    const lines = source.split('\n');
    const dropped: RunResult['dropped'] = [];
    const src = join(dir, 'probe.c');
    const bin = join(dir, 'probe');
    for (let round = 1; ; round++) {
      writeFileSync(src, lines.join('\n'));
      const c = gcc(['-std=gnu11', '-O0', '-w', '-fmax-errors=0', ...flags, '-o', bin, src]);
      if (c.status === 0) {
        const r = spawnSync(bin, [], { encoding: 'utf8', maxBuffer: 64 << 20 });
        if (r.error) throw new Error(`cannot run the probe: ${r.error.message}`);
        return { stdout: r.stdout, dropped, exitCode: r.status ?? 1, compiles: round };
      }
      const bad = new Map<number, string>();
      for (const m of c.stderr.matchAll(/^[^\n:]*probe\.c:(\d+):\d+: error: (.*)$/gm)) {
        const n = Number(m[1]);
        if (!bad.has(n)) bad.set(n, m[2] ?? '');
      }
      if (bad.size === 0 || round >= maxRounds) {
        throw new Error(`${CC} failed to compile the probe:\n${c.stderr.trim().split('\n').slice(0, 20).join('\n')}`);
      }
      for (const [n, error] of bad) {
        const text = lines[n - 1] ?? '';
        const replacement = replace(text);
        if (replacement === null) {
          throw new Error(`${CC}: error outside any check at line ${n}: ${error}\n  ${text}`);
        }
        dropped.push({ line: n, text, error });
        lines[n - 1] = replacement;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let m32: string | null | undefined;

/**
 * Why gcc cannot build and run a 32-bit program here, or null when it can (memoised). On Debian the i386
 * probe needs gcc-multilib: the 32-bit libc and libgcc, and the /usr/include/asm link.
 */
export function m32Problem(): string | null {
  if (m32 !== undefined) return m32;
  const dir = mkdtempSync(join(tmpdir(), 'vfio-uapi-m32-'));
  try {
    const bin = join(dir, 'a');
    const c = gcc(
      ['-m32', '-x', 'c', '-', '-o', bin],
      '#include <linux/types.h>\nint main(void) { return sizeof(long) == 4 ? 0 : 1; }\n',
    );
    if (c.status !== 0)
      return (m32 = `${CC} -m32 cannot build a program (${
        c.stderr
          .trim()
          .split('\n')
          .find((l) => /error/.test(l)) ?? 'error'
      }); on Debian install gcc-multilib`);
    const r = spawnSync(bin, [], { encoding: 'utf8' });
    if (r.status !== 0)
      return (m32 = `a ${CC} -m32 program does not run here (${r.error?.message ?? `exit ${r.status}`})`);
    return (m32 = null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
