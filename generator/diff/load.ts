/**
 * One side of a diff: a spec directory, a spec module, or a git revision of this repository
 * (`HEAD~1`, a tag, or `REV:path/to/module.ts`), loaded into an IR.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { importModule } from '../ir/import-module.js';
import { DEFAULT_SPEC, irFromExports, REPO_ROOT } from '../ir/load.js';
import type { Ir } from '../ir/types.js';
import { normaliseOverlay } from './project.js';

export interface SideSource {
  /** What the user typed. */
  arg: string;
  /** How reports name this side. */
  label: string;
  /** Absolute path of the spec module to import. */
  module: string;
  /** Root that site paths are relative to (the repository, or the materialised revision). */
  root: string;
  /** Set for git revisions: the full commit id and its subject line. */
  commit?: string;
  subject?: string;
}

export interface Side extends SideSource {
  ir: Ir;
  /** Export names the overlay removed. */
  removed: string[];
  asOf?: string;
}

export class SideError extends Error {}

const git = (args: string[], cwd = REPO_ROOT) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

function moduleOf(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  if (statSync(path).isDirectory()) {
    const idx = join(path, 'index.ts');
    if (!existsSync(idx)) throw new SideError(`${path} is a directory without index.ts`);
    return idx;
  }
  return path;
}

/** Where `git archive` unpacks revisions (ignored by git). */
export const REV_CACHE = join(REPO_ROOT, 'build/diff/rev');

/** Unpack spec/ (and the folder of `path`, if given) of a commit, once per commit. */
function materialise(commit: string, path?: string): string {
  const dir = join(REV_CACHE, commit.slice(0, 12));
  const parts = ['spec', ...(path ? [path.split('/')[0]!] : [])];
  const stamp = join(dir, `.done-${parts.join('+').replace(/[^\w+.-]/g, '_')}`);
  if (existsSync(stamp)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const present = parts.filter((p) => {
    try {
      git(['cat-file', '-e', `${commit}:${p}`]);
      return true;
    } catch {
      return false;
    }
  });
  if (!present.includes('spec')) throw new SideError(`revision ${commit.slice(0, 12)} has no spec/ folder`);
  const tar = execFileSync('git', ['archive', '--format=tar', commit, ...present], {
    cwd: REPO_ROOT,
    maxBuffer: 256 << 20,
  });
  execFileSync('tar', ['-x', '-C', tmp], { input: tar });
  // Other processes may have unpacked the same commit; either copy is identical.
  if (!existsSync(dir)) renameSync(tmp, dir);
  else rmSync(tmp, { recursive: true, force: true });
  writeFileSync(stamp, '');
  return dir;
}

/** Decide what an argument names. Paths on disk win over revision names. */
export function resolveSide(arg: string, cwd = process.cwd()): SideSource {
  const onDisk = moduleOf(resolve(cwd, arg));
  if (onDisk) {
    const inRepo = !relative(REPO_ROOT, onDisk).startsWith('..');
    return { arg, label: inRepo ? relative(REPO_ROOT, onDisk) : onDisk, module: onDisk, root: REPO_ROOT };
  }
  const m = /^([^:]+)(?::(.+))?$/.exec(arg);
  let commit: string | undefined;
  if (m) {
    try {
      commit = git(['rev-parse', '--verify', '--quiet', `${m[1]}^{commit}`]);
    } catch {
      commit = undefined;
    }
  }
  if (!m || !commit)
    throw new SideError(
      `"${arg}" is neither a spec directory, a spec module (.ts), nor a git revision of this repository`,
    );
  const path = m[2]?.replace(/^\/+/, '');
  const dir = materialise(commit, path);
  let module = path ? join(dir, path) : join(dir, relative(REPO_ROOT, DEFAULT_SPEC));
  if (existsSync(module) && statSync(module).isDirectory()) module = join(module, 'index.ts');
  if (!existsSync(module)) throw new SideError(`revision ${m[1]} has no ${relative(dir, module)}`);
  // Reports name a revision by its abbreviated id and subject, the way kernel reviews cite commits.
  const subject = git(['log', '-1', '--format=%s', commit]);
  const short = commit.slice(0, 12);
  const named = commit.startsWith(m[1]!.toLowerCase()) ? '' : `${m[1]} `;
  const shown = subject.length > 80 ? `${subject.slice(0, 79)}…` : subject;
  return {
    arg,
    label: `${named}${short} ("${shown}")${path ? `:${path}` : ''}`,
    module,
    root: dir,
    commit,
    subject,
  };
}

/** Import the side's spec module (with its own spec/dsl), apply overlay markers, and build the IR. */
export async function loadSide(src: SideSource, opts: { docs?: boolean } = {}): Promise<Side> {
  const exports = await importModule(src.module);
  const n = normaliseOverlay(exports);
  const ir = await irFromExports(n.exports, { docs: opts.docs ?? true, root: src.root });
  return {
    ...src,
    ...(n.revision ? { label: `${n.revision.label} [${src.label}]` } : {}),
    ir,
    removed: n.removed,
    ...(n.revision?.asOf ? { asOf: n.revision.asOf } : {}),
  };
}
