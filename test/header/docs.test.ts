import { describe, expect, it } from 'vitest';
import { loadSpec } from '../../generator/ir/load.js';
import { emit, HEADER } from '../../generator/emit/docs/emit.js';

describe('docs emitter', () => {
  it('is byte-deterministic, heads every file, and shows precopy-info validity per state', async () => {
    const ir = await loadSpec(undefined, { docs: false });
    const a = emit(ir);
    const b = emit(structuredClone(ir));
    expect(b).toEqual(a);
    for (const f of a) expect(f.content.startsWith(HEADER), f.path).toBe(true);
    const ioctls = a.find((f) => f.path === 'generated/docs/ioctls.md')!.content;
    const section = ioctls.slice(ioctls.indexOf('## VFIO_MIG_GET_PRECOPY_INFO'));
    expect(section).toContain('| PRE_COPY | ✓ |');
    expect(section).toContain('| PRE_COPY_P2P | ✓ |');
    expect(section).toContain('| STOP_COPY | ✗ EINVAL |');
    expect(section).toContain('| RUNNING | ✗ EINVAL |');
    expect(section).toContain('`0x3B79` | `0x20003B79`');
    const features = a.find((f) => f.path === 'generated/docs/features.md')!.content;
    expect(features).toMatch(/## VFIO_DEVICE_FEATURE_MIG_DATA_SIZE[\s\S]*?\| STOP_COPY \| ✓ \|/);
    const structs = a.find((f) => f.path === 'generated/docs/structs.md')!.content;
    expect(structs).toContain('| `pad` | 20 | 4 | `__u32` | reserved (0) | inout | 6.6 |');
    const fsm = a.find((f) => f.path === 'generated/docs/state-machine.md')!.content;
    expect(fsm).toMatch(/!\[vfio_migration state machine\]\([\w-]+\.svg\)/);
    expect(fsm).toContain('| STOP_COPY | PRE_COPY | every device | EINVAL |');
  });
});
