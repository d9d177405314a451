import type { Ir } from '../ir/types.js';

/** One generated file: its path under the repo root and its exact bytes. */
export interface GeneratedFile {
  path: string;
  content: string;
}

/** An emitter turns the IR into files. One folder per output kind under generator/emit/. */
export type Emitter = (ir: Ir) => GeneratedFile[] | Promise<GeneratedFile[]>;

/** Every emitter, in the order they run. */
export async function emitters(): Promise<Emitter[]> {
  const list: Emitter[] = [(await import('./ir-json/emit.js')).emitIrJson];
  return list;
}
