// The kernel of the cdev route: Linux 7.3.4 from Debian's linux-source-7.3, configured by cdev-kernel.config
// (IOMMUFD, VFIO_DEVICE_CDEV, mtty built in; no modules), built with the host's compiler under `nice`.
//
// Cache layout (test/kernel/paths.ts cdevKernelRoot):
//   source-<debian version>/linux-source-7.3/   the unpacked tree (never built in: every build uses O=)
//   config-<fragment hash>/                     where allnoconfig resolves the fragment (kept: re-resolving is fast)
//   resolved-<fragment hash>.json               fragment + source + compiler → the key, so a warm run resolves nothing
//   <key>/build/                                the build (O=), <key>/vmlinux once it finished
// The key hashes the kernel version, the resolved .config and the compiler and linker versions: a change to any
// of them is a new build; the same inputs never build twice. An interrupted build resumes (make is incremental).
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { debianKernels } from './debian-kernels.js';
import { run } from './exec.js';
import { fetchKernelSource } from './fetch.js';
import { cdevKernelRoot, projectRoot } from './paths.js';

const kernelName = '7.3.4' as const;
const fragmentFile = join(projectRoot, 'test', 'kernel', 'cdev-kernel.config');
/** The tree's own tinyconfig fragments, in the order `make tinyconfig` merges them. */
const tinyFragments = ['kernel/configs/tiny-base.config', 'kernel/configs/tiny.config', 'arch/x86/configs/tiny.config'];

export interface CdevKernel {
  vmlinux: string;
  /** The resolved .config it was built with. */
  config: string;
  key: string;
  /** True when this call compiled it (cold), false when it came from the cache. */
  built: boolean;
  buildSeconds: number;
  /** What the key is made of, for the report. */
  compiler: string;
}

function sha(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
}

function toolchain(): string {
  const gcc = run('gcc', ['--version']).split('\n')[0] ?? '';
  const ld = run('ld', ['--version']).split('\n')[0] ?? '';
  return `${gcc}; ${ld}`;
}

/** `CONFIG_X=y` lines of the fragment. */
function wantedOptions(fragment: string): string[] {
  return fragment
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^CONFIG_\w+=/.test(line));
}

function resolveConfig(source: string, fragment: string, fragmentHash: string): string {
  const dir = join(cdevKernelRoot, `config-${fragmentHash}`);
  mkdirSync(dir, { recursive: true });
  const all = join(dir, 'all.config');
  writeFileSync(all, [...tinyFragments.map((f) => readFileSync(join(source, f), 'utf8')), fragment].join('\n'));
  run('nice', ['-n', '10', 'make', '-s', '-C', source, `O=${dir}`, `KCONFIG_ALLCONFIG=${all}`, 'allnoconfig'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const config = readFileSync(join(dir, '.config'), 'utf8');
  const resolved = new Set(config.split('\n'));
  const missing = wantedOptions(fragment).filter((option) => !resolved.has(option));
  if (missing.length)
    throw new Error(`the cdev kernel config does not hold ${missing.join(', ')} (see ${join(dir, '.config')})`);
  return join(dir, '.config');
}

export function cdevKernel(log: (line: string) => void = () => {}): CdevKernel {
  const kernel = debianKernels[kernelName];
  const fragment = readFileSync(fragmentFile, 'utf8');
  const tools = toolchain();
  const fragmentHash = sha(kernel.version, fragment, tools);
  const index = join(cdevKernelRoot, `resolved-${fragmentHash}.json`);
  mkdirSync(cdevKernelRoot, { recursive: true });
  const found = (key: string, built: boolean, buildSeconds: number): CdevKernel => ({
    vmlinux: join(cdevKernelRoot, key, 'vmlinux'),
    config: join(cdevKernelRoot, key, 'build', '.config'),
    key,
    built,
    buildSeconds,
    compiler: tools,
  });

  if (existsSync(index)) {
    const { key } = JSON.parse(readFileSync(index, 'utf8')) as { key: string };
    if (existsSync(join(cdevKernelRoot, key, 'vmlinux'))) return found(key, false, 0);
  }

  const source = fetchKernelSource(kernelName, join(cdevKernelRoot, `source-${kernel.version}`));
  const resolvedConfig = resolveConfig(source, fragment, fragmentHash);
  const key = sha(kernel.upstream, readFileSync(resolvedConfig), tools);
  const home = join(cdevKernelRoot, key);
  const vmlinux = join(home, 'vmlinux');
  let buildSeconds = 0;
  const built = !existsSync(vmlinux);
  if (built) {
    const build = join(home, 'build');
    mkdirSync(build, { recursive: true });
    copyFileSync(resolvedConfig, join(build, '.config'));
    log(`building the cdev kernel (Linux ${kernel.upstream}, key ${key}) under nice with make -j2: a few minutes`);
    const started = Date.now();
    run('nice', ['-n', '10', 'make', '-s', '-C', source, `O=${build}`, '-j2', 'olddefconfig', 'vmlinux'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    copyFileSync(join(build, 'vmlinux'), `${vmlinux}.partial`);
    renameSync(`${vmlinux}.partial`, vmlinux);
    buildSeconds = (Date.now() - started) / 1000;
  }
  writeFileSync(index, JSON.stringify({ key, kernel: kernel.version, compiler: tools }, null, 2));
  return found(key, built, buildSeconds);
}
