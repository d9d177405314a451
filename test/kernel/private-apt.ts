// apt with a sources list, package lists and a cache of our own, so the system's apt state is never touched.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { run } from './exec.js';

const debianKeyring = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** The Debian mirror the system already uses (first `…/debian` URI in its apt sources). */
export function systemDebianMirror(): string {
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const name of readdirSync('/etc/apt/sources.list.d').sort()) {
      if (name.endsWith('.list') || name.endsWith('.sources')) files.push(join('/etc/apt/sources.list.d', name));
    }
  }
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const trimmed = line.trim();
      if (trimmed.startsWith('#')) continue;
      // One-line format ("deb [opts] URI suite…") and deb822 format ("URIs: URI…").
      const uris = trimmed.startsWith('URIs:')
        ? trimmed.slice(5).trim().split(/\s+/)
        : trimmed.startsWith('deb ')
          ? trimmed
              .replace(/\[[^\]]*\]/, '')
              .split(/\s+/)
              .slice(1, 2)
          : [];
      const mirror = uris.find((uri) => /^https?:\/\/[^/]+\/debian\/?$/.test(uri));
      if (mirror) return mirror.replace(/\/$/, '');
    }
  }
  throw new Error('no Debian mirror found in /etc/apt/sources.list(.d)');
}

export interface PackageRef {
  name: string;
  version: string;
  architecture: string;
}

export class PrivateApt {
  private readonly sourcesFile: string;
  private readonly listsDir: string;
  private readonly cacheDir: string;

  /**
   * `suites`: the Debian suites (main component) the private sources list names. Give each set of suites its
   * own `root`: the package lists depend on it.
   */
  constructor(
    private readonly root: string,
    private readonly mirror: string,
    private readonly suites: readonly string[],
  ) {
    this.sourcesFile = join(root, 'sources.list');
    this.listsDir = join(root, 'lists');
    this.cacheDir = join(root, 'cache');
  }

  private options(): string[] {
    return [
      '-o',
      `Dir::Etc::sourcelist=${this.sourcesFile}`,
      '-o',
      'Dir::Etc::sourceparts=-',
      '-o',
      `Dir::State::Lists=${this.listsDir}`,
      '-o',
      `Dir::Cache=${this.cacheDir}`,
    ];
  }

  update(): void {
    mkdirSync(join(this.listsDir, 'partial'), { recursive: true });
    mkdirSync(join(this.cacheDir, 'archives', 'partial'), { recursive: true });
    const signed = `[signed-by=${debianKeyring}]`;
    writeFileSync(
      this.sourcesFile,
      this.suites.map((suite) => `deb ${signed} ${this.mirror} ${suite} main\n`).join(''),
    );
    const update = spawnSync('apt-get', [...this.options(), 'update'], { encoding: 'utf8' });
    const output = `${update.stdout ?? ''}${update.stderr ?? ''}`;
    // apt-get update can exit 0 even when a repository could not be fetched; treat that as a failure too.
    if (update.status !== 0 || /^(Err:|W: Failed to fetch|E: )/m.test(output)) {
      throw new Error(`apt-get update: ${output.trim().split('\n').slice(-3).join(' | ')}`);
    }
  }

  /**
   * Every version of `name` the lists hold for `suite` (e.g. "bookworm-backports"), newest first (a suite may
   * carry several), via apt-cache madison.
   */
  versionsIn(name: string, suite: string): string[] {
    const out: string[] = [];
    for (const line of run('apt-cache', [...this.options(), 'madison', name]).split('\n')) {
      const [, version, source] = line.split('|').map((field) => field.trim());
      if (version && source && source.includes(` ${suite}/main `)) out.push(version);
    }
    return out;
  }

  /** One field of `apt-cache show name=version`. */
  field(name: string, version: string, field: string): string {
    const text = run('apt-cache', [...this.options(), 'show', `${name}=${version}`]);
    const match = new RegExp(`^${field}: (.*)$`, 'm').exec(text);
    if (!match?.[1]) throw new Error(`${name}=${version}: no ${field}`);
    return match[1];
  }

  ref(name: string, version: string): PackageRef {
    return { name, version, architecture: this.field(name, version, 'Architecture') };
  }

  /** Downloads the exact versions into `dir`; returns their file paths. */
  download(refs: readonly PackageRef[], dir: string): string[] {
    mkdirSync(dir, { recursive: true });
    const missing = refs.filter((ref) => !existsSync(join(dir, debFileName(ref))));
    if (missing.length > 0) {
      run('apt-get', [...this.options(), 'download', ...missing.map((ref) => `${ref.name}=${ref.version}`)], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    }
    return refs.map((ref) => join(dir, debFileName(ref)));
  }
}

/** The file name apt-get download gives a package (an epoch colon is written as %3a). */
export function debFileName(ref: PackageRef): string {
  return `${ref.name}_${ref.version.replace(/:/g, '%3a')}_${ref.architecture}.deb`;
}
