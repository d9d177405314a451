/** `vfio_precopy_info` → `VfioPrecopyInfo`. */
export const pascal = (cName: string) =>
  cName
    .replace(/^_+/, '')
    .split('_')
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');

/** A TypeScript-safe identifier for a C name (keeps the C spelling, which readers search for). */
export const ident = (name: string) => name.replace(/[^A-Za-z0-9_$]/g, '_');

/** Files an emitter read from, for the generated header: the spec files the items came from. */
export const specSources = (files: string[]) => (files.length ? files : ['spec/vfio']);
