/**
 * Every item a uapi header declares: its macros, enumerators and structs, each attributed to the header
 * file that declares it (read from `gcc -E -dD` line markers, so included helpers such as
 * <linux/types.h> never count). header-check compares this inventory with the spec and the spec's
 * out-of-scope list; `--diff` measures the unknown ones.
 */
import { CC, HEADERS_TU, gcc } from './gcc.js';

/** The header files whose items are accounted for. */
export const INVENTORY_FILES = ['linux/vfio.h', 'linux/iommufd.h'] as const;
export type InventoryFile = (typeof INVENTORY_FILES)[number];

export type HeaderItemKind = 'macro' | 'enumerator' | 'struct';

export interface HeaderItem {
  kind: HeaderItemKind;
  name: string;
  file: InventoryFile;
  /** Macros: replacement text. Enumerators: the initialiser as written, if any. */
  definition?: string;
  functionLike?: boolean;
  /** Enumerators: the enum's tag, when it has one. */
  enumTag?: string;
}

/** Which inventory file a line-marker path is, if any (`/usr/include/linux/vfio.h` → `linux/vfio.h`). */
function fileOf(path: string): InventoryFile | undefined {
  return INVENTORY_FILES.find((f) => path === f || path.endsWith(`/${f}`));
}

/** The inventory files preprocessed: each one's text, and its #defines. */
export interface PreprocessedHeaders {
  text: Map<InventoryFile, string>;
  defines: HeaderItem[];
}

/** The preprocessed text of each inventory file (with its #defines kept), in order. */
export function preprocessedByFile(flags: string[]): PreprocessedHeaders {
  const r = gcc(['-std=gnu11', '-E', '-dD', ...flags, '-x', 'c', '-'], HEADERS_TU);
  if (r.status !== 0) throw new Error(`${CC} -E -dD failed:\n${r.stderr.trim()}`);
  const text = new Map<InventoryFile, string>();
  const defines: HeaderItem[] = [];
  let current: InventoryFile | undefined;
  for (const line of r.stdout.split('\n')) {
    const marker = /^# \d+ "([^"]*)"/.exec(line);
    if (marker) {
      current = fileOf(marker[1]!);
      continue;
    }
    if (!current) continue;
    const def = /^#define ([A-Za-z_]\w*)(\([^)]*\))?(?:\s+(.*))?$/.exec(line);
    if (def) {
      const name = def[1]!;
      // include guards (`_UAPIVFIO_H`, `VFIO_H`, `_UAPI_IOMMUFD_H`, ...): empty and named like the file
      if (!(def[3] ?? '').trim() && !def[2] && /_H$/.test(name)) continue;
      defines.push({
        kind: 'macro',
        name,
        file: current,
        definition: (def[3] ?? '').trim(),
        ...(def[2] ? { functionLike: true } : {}),
      });
      continue;
    }
    if (line.startsWith('#')) continue;
    text.set(current, (text.get(current) ?? '') + line + '\n');
  }
  return { text, defines };
}

/** Skip a balanced `{…}` starting at `open`; returns the index after the closing brace. */
function skipBraces(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === '{') depth++;
    else if (src[i] === '}' && --depth === 0) return i + 1;
  }
  return src.length;
}

/** Enumerators of every `enum [tag] { … }` in preprocessed C. */
export function enumeratorsOf(src: string): { name: string; tag?: string; init?: string }[] {
  const out: { name: string; tag?: string; init?: string }[] = [];
  const re = /\benum\s+([A-Za-z_]\w*\s*)?\{/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src))) {
    const open = re.lastIndex - 1;
    const end = skipBraces(src, open);
    const body = src.slice(open + 1, end - 1);
    const tag = m[1]?.trim();
    // split at top-level commas (initialisers may hold parentheses)
    let depth = 0;
    let start = 0;
    const parts: string[] = [];
    for (let i = 0; i <= body.length; i++) {
      const ch = body[i];
      if (ch === '(') depth++;
      else if (ch === ')') depth--;
      else if ((ch === ',' && depth === 0) || i === body.length) {
        parts.push(body.slice(start, i));
        start = i + 1;
      }
    }
    for (const p of parts) {
      const e = /^\s*([A-Za-z_]\w*)\s*(?:=\s*([\s\S]+?))?\s*$/.exec(p);
      if (e) out.push({ name: e[1]!, ...(tag ? { tag } : {}), ...(e[2] ? { init: e[2].replace(/\s+/g, ' ') } : {}) });
    }
    re.lastIndex = end;
  }
  return out;
}

/** Names of every `struct NAME { … }` defined in preprocessed C (nested definitions included). */
export function structNamesOf(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(/\bstruct\s+([A-Za-z_]\w*)\s*\{/g)) if (!out.includes(m[1]!)) out.push(m[1]!);
  return out;
}

/** Every macro, enumerator and struct of the inventory files, in header order per kind. */
export function headerInventory({ text, defines }: PreprocessedHeaders): HeaderItem[] {
  const items: HeaderItem[] = [...defines];
  for (const file of INVENTORY_FILES) {
    const src = text.get(file) ?? '';
    for (const e of enumeratorsOf(src))
      items.push({
        kind: 'enumerator',
        name: e.name,
        file,
        ...(e.init ? { definition: e.init } : {}),
        ...(e.tag ? { enumTag: e.tag } : {}),
      });
    for (const s of structNamesOf(src)) items.push({ kind: 'struct', name: s, file });
  }
  return items;
}
