// Builds the kernel's mtty sample as an out-of-tree module against a Debian kernel's unpacked headers.
//
// The trixie kernels (6.12.117, 7.3.4) were built with gcc-14, and some of their kbuild helpers (modpost's real
// binary, objtool's, resolve_btfids) need glibc ≥ 2.38; a bookworm host has gcc-12 and glibc 2.36. So:
// - the compiler is the kernel's own (CONFIG_CC_VERSION_TEXT) when the host has it, else the host's gcc with
//   the two options gcc-12 lacks turned off (CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT, CONFIG_CC_HAS_ASSUME);
// - a helper that will not start on this host's C library runs through trixie's loader instead (a two-line
//   wrapper in our unpacked copy of kbuild, never in the system).
// Nothing is installed on the host. The result is cached per release, keyed by the source file and the compiler.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasCommand, run } from './exec.js';
import { fetchTrixieLibc, once, type BuildableKernelFiles } from './fetch.js';

/** The kbuild helpers that are ELF programs linked against the C library (checked one by one). */
const helpers = [
  'scripts/mod/modpost.real-lsb-64',
  'tools/objtool/objtool.real-x86',
  'tools/bpf/resolve_btfids/resolve_btfids',
];

function kbuildDir(files: BuildableKernelFiles): string {
  const kbuild = files.kernel.build.find((name) => name.startsWith('linux-kbuild-'));
  return join(files.root, 'usr', 'lib', kbuild ?? '');
}

/** Does this program fail to start for want of a newer glibc? */
function needsNewerGlibc(program: string): boolean {
  const result = spawnSync(program, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /version `GLIBC_[0-9.]+' not found/.test(String(result.stderr));
}

/** Puts the helpers that need a newer glibc behind trixie's loader (idempotent). */
function wrapHelpers(files: BuildableKernelFiles): string[] {
  const wrapped: string[] = [];
  for (const helper of helpers) {
    const path = join(kbuildDir(files), helper);
    const real = `${path}.glibc-2.38`;
    if (existsSync(real)) {
      wrapped.push(helper);
      continue;
    }
    if (!existsSync(path) || !needsNewerGlibc(path)) continue;
    const libc = fetchTrixieLibc();
    renameSync(path, real);
    const loader = join(libc, 'ld-linux-x86-64.so.2');
    writeFileSync(path, `#!/bin/sh\nexec '${loader}' --library-path '${libc}' '${real}' "$@"\n`);
    chmodSync(path, 0o755);
    wrapped.push(helper);
  }
  return wrapped;
}

/** The compiler the kernel was built with, as its config says (e.g. `x86_64-linux-gnu-gcc-14`). */
function kernelCompiler(files: BuildableKernelFiles): { command: string; major: number } {
  const config = readFileSync(join(files.headersDir, '.config'), 'utf8');
  const text = /^CONFIG_CC_VERSION_TEXT="(\S+) .*?(\d+)\.\d+\.\d+"$/m.exec(config);
  if (!text?.[1] || !text[2]) throw new Error(`no CONFIG_CC_VERSION_TEXT in ${files.headersDir}/.config`);
  return { command: text[1], major: Number(text[2]) };
}

function hostGcc(): { command: string; major: number } {
  const version = run('gcc', ['-dumpversion']).trim();
  const major = Number(version.split('.')[0]);
  const versioned = `x86_64-linux-gnu-gcc-${major}`;
  return { command: hasCommand(versioned) ? versioned : 'gcc', major };
}

export interface MttyBuild {
  module: string;
  /** The compiler used, and the make-line settings that stand in for options it lacks. */
  compiler: string;
  overrides: string[];
  wrappedHelpers: string[];
}

export function buildMtty(files: BuildableKernelFiles): MttyBuild {
  const wanted = kernelCompiler(files);
  const useKernels = hasCommand(wanted.command);
  const compiler = useKernels ? wanted : hostGcc();
  const overrides =
    !useKernels && compiler.major < 13 ? ['CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT=', 'CONFIG_CC_HAS_ASSUME='] : [];
  // BTF for modules needs pahole, which the kernel does not require to load the module.
  const makeArgs = [`CC=${compiler.command}`, ...overrides, 'CONFIG_DEBUG_INFO_BTF_MODULES='];
  const source = readFileSync(files.mttySource);
  const compilerVersion = run(compiler.command, ['--version']).split('\n')[0] ?? '';
  const key = createHash('sha256')
    .update(source)
    .update(compilerVersion)
    .update(makeArgs.join(' '))
    .digest('hex')
    .slice(0, 12);

  // The packaged Makefile includes the -common tree (and may set KBUILD_OUTPUT) by installed absolute path;
  // point both at our copy.
  const makefile = join(files.headersDir, 'Makefile');
  const original = readFileSync(makefile, 'utf8');
  const rewritten = original
    .replace(/\/usr\/src\/(linux-headers-[^/\s]+-common)/g, (_, name: string) => join(files.root, 'usr', 'src', name))
    .replace(/^KBUILD_OUTPUT=\/usr\/src\/.*$/m, `KBUILD_OUTPUT=${files.headersDir}`);
  if (rewritten !== original) writeFileSync(makefile, rewritten);
  const wrappedHelpers = wrapHelpers(files);

  const moduleDir = once(join(files.home, `mtty-${key}`), (dir) => {
    copyFileSync(files.mttySource, join(dir, 'mtty.c'));
    writeFileSync(join(dir, 'Makefile'), 'obj-m := mtty.o\n');
    run('nice', ['-n', '10', 'make', '-C', files.headersDir, `M=${dir}`, ...makeArgs, 'modules'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (!existsSync(join(dir, 'mtty.ko'))) throw new Error(`mtty build produced no mtty.ko in ${dir}`);
  });
  return { module: join(moduleDir, 'mtty.ko'), compiler: compilerVersion, overrides, wrappedHelpers };
}
