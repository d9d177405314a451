/**
 * Module hooks (node:module `register`) that let the compiled generator import TypeScript spec modules
 * without tsx: a `.ts` file is transpiled (types erased, no type check) with the TypeScript compiler that
 * ts-morph already brings, with an inline source map so stack traces — and so the spec's recorded
 * declaration sites — name the .ts lines a person edits. Transpiled text is cached by content.
 * Runs in Node's hooks thread; registered by import-module.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface HookData {
  cacheDir: string;
}
interface ResolveContext {
  parentURL?: string;
}
interface ResolveResult {
  url: string;
  format?: string;
  shortCircuit?: boolean;
}
interface LoadResult {
  format: string;
  source?: string | ArrayBufferView;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<ResolveResult>;
type NextLoad = (url: string, context: object) => Promise<LoadResult>;

type TypeScript = typeof import('ts-morph').ts;

let cacheDir = '';
let typescript: TypeScript | undefined;

export function initialize(data: HookData): void {
  cacheDir = data.cacheDir;
}

/** `./x.js` written in a .ts module names `./x.ts` when only the TypeScript file exists (nodenext style). */
export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<ResolveResult> {
  const parent = context.parentURL;
  if (parent?.endsWith('.ts') && /^\.\.?\//.test(specifier) && specifier.endsWith('.js')) {
    const target = new URL(specifier, parent);
    const ts = new URL(specifier.replace(/\.js$/, '.ts'), parent);
    if (!existsSync(fileURLToPath(target)) && existsSync(fileURLToPath(ts))) {
      return { url: ts.href, format: 'module', shortCircuit: true };
    }
  }
  return next(specifier, context);
}

export async function load(url: string, context: object, next: NextLoad): Promise<LoadResult> {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  return { format: 'module', source: transpiled(file, readFileSync(file, 'utf8')), shortCircuit: true };
}

function compiler(): TypeScript {
  if (typescript) return typescript;
  // ts-morph's own TypeScript (via @ts-morph/common) loads in a third of the time ts-morph itself takes.
  const require = createRequire(import.meta.url);
  try {
    const common = createRequire(require.resolve('ts-morph'))('@ts-morph/common') as { ts: TypeScript };
    typescript = common.ts;
  } catch {
    typescript = (require('ts-morph') as { ts: TypeScript }).ts;
  }
  return typescript;
}

/** The JavaScript of one .ts file: from the cache when this exact text was transpiled before. */
function transpiled(file: string, source: string): string {
  const key = createHash('sha256').update('ts-hooks-v1\0').update(file).update('\0').update(source).digest('hex');
  const cached = join(cacheDir, `${key}.js`);
  try {
    return readFileSync(cached, 'utf8');
  } catch {
    // not cached yet
  }
  const out = transpile(file, source);
  try {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    writeFileSync(tmp, out);
    renameSync(tmp, cached);
  } catch {
    // a read-only cache only costs speed
  }
  return out;
}

function transpile(file: string, source: string): string {
  const ts = compiler();
  const r = ts.transpileModule(source, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      inlineSourceMap: true,
      verbatimModuleSyntax: true,
    },
  });
  const first = r.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (first) {
    const where =
      first.file && first.start !== undefined ? first.file.getLineAndCharacterOfPosition(first.start) : null;
    const text = ts.flattenDiagnosticMessageText(first.messageText, ' ');
    const at = where ? `${file}:${where.line + 1}:${where.character + 1}` : file;
    throw new SyntaxError(`${at}: syntax error: ${text}`);
  }
  return r.outputText;
}
