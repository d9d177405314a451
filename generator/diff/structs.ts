/**
 * Structs: fields matched by name (or as renames), offsets, sizes and roles, argsz growth, i386 layout (an
 * alignment alone, or growth at the end that argsz tells apart, is compatible; a field that moves breaks).
 */
import type { IrField, IrStruct } from '../ir/types.js';
import { breaks, ok, review } from './changes.js';
import { add, common, eq, keyed, type Ctx } from './context.js';

function hasArgsz(s: IrStruct) {
  return s.fields.some((f) => f.role.kind === 'argsz');
}

/**
 * `__u64` ⇄ `__aligned_u64` (or `__s64` ⇄ an aligned one): the same 8 bytes at the same LP64 offset, only the
 * alignment a 32-bit x86 compiler gives the field differs. What that moves on i386, if anything, is reported
 * by the i386 offset and size checks.
 */
function onlyAlignmentDiffers(f: IrField, g: IrField): boolean {
  const x = f.ir;
  const y = g.ir;
  return (
    x.kind === 'scalar' &&
    y.kind === 'scalar' &&
    x.scalar === y.scalar &&
    x.size === y.size &&
    x.signed === y.signed &&
    x.forceAlign8 !== y.forceAlign8
  );
}

/**
 * The new field is a union that keeps every member the old union had (same name, type, offset and size) and
 * only adds members, within the same size: the old reading of the bytes is still there.
 */
function unionOnlyGrewMembers(f: IrField, g: IrField): string[] | null {
  if (f.ir.kind !== 'union' || g.ir.kind !== 'union' || f.size !== g.size || f.offset !== g.offset) return null;
  const now = new Map(g.ir.members.map((m) => [m.name, m]));
  const kept = f.ir.members.every((m) => {
    const n = now.get(m.name);
    return n && n.type === m.type && n.offset === m.offset && n.size === m.size && eq(n.ir, m.ir);
  });
  if (!kept) return null;
  const before = new Set(f.ir.members.map((m) => m.name));
  const added = g.ir.members.filter((m) => !before.has(m.name)).map((m) => m.name);
  return added.length ? added : null;
}

export function diffStruct(ctx: Ctx, name: string, x: IrStruct, y: IrStruct) {
  const sites = { old: x.site, new: y.site };
  const xf = new Map(x.fields.map((f) => [f.name, f]));
  const yf = new Map(y.fields.map((f) => [f.name, f]));
  const renamedTo = new Map<string, IrField>();
  let layoutBroken = false;
  /** A field removed, moved (on either ABI) or encoded differently: the old bytes no longer mean the same. */
  let bytesMoved = false;
  /** A field that sits at a new i386 offset. */
  let i386FieldMoved = false;
  // Fields pair up by name; an old and a new field without a namesake that sit at the same offset with
  // the same size are one field renamed (a retype of it is reported on its own, below).
  for (const f of x.fields) {
    if (yf.has(f.name)) continue;
    const twin = y.fields.find(
      (g) => !xf.has(g.name) && !renamedTo.has(g.name) && g.offset === f.offset && g.size === f.size,
    );
    if (twin) {
      renamedTo.set(twin.name, f);
      add(
        ctx,
        'struct.field-renamed',
        `${name}.${f.name}`,
        `struct ${name}: field ${f.name} renamed to ${twin.name} (same offset ${f.offset}, ${f.size} B)`,
        sites,
        review('binary compatible; source that names the old field no longer compiles'),
        ok('same bytes'),
      );
    } else {
      layoutBroken = true;
      bytesMoved = true;
      add(
        ctx,
        'struct.field-removed',
        `${name}.${f.name}`,
        `struct ${name}: field ${f.name} (offset ${f.offset}, ${f.type}) removed`,
        sites,
        breaks('the bytes userspace fills or reads there lose their meaning'),
        breaks('drivers reading or writing the field must stop'),
      );
    }
  }
  // A flexible array counted by a renamed field names the counter's new name: that is the rename, not a
  // change of the array's type.
  const newNameOf = new Map([...renamedTo].map(([to, from]) => [from.name, to]));
  const sameIr = (f: IrField, g: IrField) =>
    eq(
      f.ir.kind === 'flex' && f.ir.countedBy && newNameOf.has(f.ir.countedBy)
        ? { ...f.ir, countedBy: newNameOf.get(f.ir.countedBy) }
        : f.ir,
      g.ir,
    );
  const appended: IrField[] = [];
  let grown: string[] | null;
  for (const g of y.fields) {
    const f = xf.get(g.name) ?? renamedTo.get(g.name);
    if (!f) {
      if (g.offset >= x.size) appended.push(g);
      else {
        layoutBroken = true;
        add(
          ctx,
          'struct.field-added',
          `${name}.${g.name}`,
          `struct ${name}: field ${g.name} (${g.type}) added at offset ${g.offset}, inside the old struct`,
          sites,
          review('bytes that were padding or another field now carry this field'),
          review('drivers must handle the field'),
        );
      }
      continue;
    }
    const fi = `${name}.${g.name}`;
    if (f.offset !== g.offset) {
      layoutBroken = true;
      bytesMoved = true;
      add(
        ctx,
        'struct.field-offset-changed',
        fi,
        `struct ${name}: field ${g.name} moved from offset ${f.offset} to ${g.offset}`,
        sites,
        breaks('ABI break: binaries built against the old layout read and write the wrong bytes'),
        breaks('ABI break: the kernel and old binaries disagree on the layout'),
      );
    }
    if (onlyAlignmentDiffers(f, g))
      add(
        ctx,
        'struct.field-alignment-changed',
        fi,
        `struct ${name}: field ${g.name} ${f.type} → ${g.type}: the same ${g.size} bytes at offset ${g.offset}; on 32-bit x86 ${g.ir.kind === 'scalar' && g.ir.forceAlign8 ? '8-aligned now (was 4)' : '4-aligned now (was 8)'}`,
        sites,
        ok('the same bytes at the same offset; what the i386 alignment moves, if anything, is reported on its own'),
        ok('the kernel decodes the same bytes'),
      );
    else if ((grown = unionOnlyGrewMembers(f, g)))
      add(
        ctx,
        'struct.union-member-added',
        fi,
        `struct ${name}: the union at ${g.name} gains ${grown.join(', ')} (${g.size} B, no member moved)`,
        sites,
        ok('every member it had is where it was; the new one is another reading of the same bytes'),
        review('a new way to fill or read these bytes: drivers must know when it applies'),
      );
    else if (f.type !== g.type || f.size !== g.size || !sameIr(f, g)) {
      layoutBroken = true;
      bytesMoved = true;
      add(
        ctx,
        'struct.field-type-changed',
        fi,
        `struct ${name}: field ${g.name} changed type ${f.type} (${f.size} B) → ${g.type} (${g.size} B)`,
        sites,
        breaks('ABI break: the field is encoded differently'),
        breaks('ABI break: the field is decoded differently'),
      );
    }
    const i386Moved = (x.i386.offsets[f.name] ?? -1) !== (y.i386.offsets[g.name] ?? -1);
    if (i386Moved) i386FieldMoved = true;
    if (i386Moved && f.offset === g.offset) {
      layoutBroken = true;
      bytesMoved = true;
      add(
        ctx,
        'struct.i386-field-offset-changed',
        fi,
        `struct ${name}: on 32-bit x86 field ${g.name} moved from offset ${x.i386.offsets[f.name]} to ${y.i386.offsets[g.name]}`,
        sites,
        breaks('ABI break for 32-bit userspace: it reads and writes the wrong bytes'),
        breaks('compat ioctl handling reads the field from another offset'),
      );
    }
    if (!eq(f.role, g.role)) {
      const roleName = (r: IrField['role']) =>
        r.kind === 'flags' ? `flags of ${r.flags}` : r.kind === 'enum' ? `enum ${r.enum}` : r.kind;
      const message = `struct ${name}: field ${g.name} is now ${roleName(g.role)} (was ${roleName(f.role)})`;
      const input = g.direction !== 'out';
      if (f.role.kind === 'reserved' && input)
        // Repurposing a reserved input: old callers never had to fill it in.
        add(
          ctx,
          'struct.reserved-field-repurposed',
          fi,
          message,
          sites,
          review(
            `old callers may pass anything in ${f.name} (uninitialised stack, garbage) unless every kernel since ${f.since ?? x.since} refused a non-zero value there; if none did, the new meaning must be opted into (a flag callers set, a new feature or ioctl), not read from bytes old binaries never cleared`,
          ),
          review(`drivers and the core must read ${g.name} only where old callers are known to have zeroed it`),
        );
      else {
        const fromPlain = f.role.kind === 'plain' || f.role.kind === 'reserved';
        add(
          ctx,
          'struct.field-role-changed',
          fi,
          message,
          sites,
          fromPlain
            ? ok(
                input
                  ? 'the field gains a meaning; programs that ignored it keep working'
                  : 'an output gains a meaning; programs that ignored it keep working',
              )
            : review('validators and callers interpret the field differently'),
          review('drivers must fill in or check the field as the new role says'),
        );
      }
    }
    if (f.direction !== g.direction)
      add(
        ctx,
        'struct.field-direction-changed',
        fi,
        `struct ${name}: field ${g.name} direction ${f.direction} → ${g.direction}`,
        sites,
        review('who writes the field changed'),
        review('who writes the field changed'),
      );
    if ((f.since ?? '') !== (g.since ?? ''))
      add(
        ctx,
        'item.since-changed',
        fi,
        `struct ${name}: field ${g.name} since ${f.since ?? x.since} → ${g.since ?? y.since}`,
        sites,
        review('programs that check argsz or the release before using the field must use the new release'),
        ok('release metadata only'),
      );
    if (f.doc !== g.doc)
      add(
        ctx,
        'item.doc-changed',
        fi,
        `struct ${name}: documentation of field ${g.name} changed`,
        sites,
        ok('documentation only'),
        ok('documentation only'),
        [`old: ${f.doc || '(none)'}`, `new: ${g.doc || '(none)'}`],
      );
  }
  const grewWithArgsz = appended.length > 0 && hasArgsz(x) && hasArgsz(y) && !layoutBroken;
  if (appended.length) {
    const names = appended.map((f) => f.name).join(', ');
    if (grewWithArgsz) {
      const optional = y.minsz <= x.minsz;
      add(
        ctx,
        'struct.field-added-within-argsz',
        name,
        `struct ${name} grew ${x.size} → ${y.size} bytes with ${names}; argsz tells the versions apart (minsz ${x.minsz} → ${y.minsz})`,
        sites,
        optional
          ? ok('old callers pass the old argsz, which is still accepted; new fields are optional')
          : breaks(`the kernel now refuses argsz < ${y.minsz}, which old callers pass`),
        optional
          ? ok('drivers read the new fields only when argsz covers them')
          : review('drivers may rely on the new fields being present'),
      );
    } else
      add(
        ctx,
        'struct.field-added',
        `${name}.${names}`,
        `struct ${name}: field(s) ${names} appended (no argsz to tell the versions apart)`,
        sites,
        breaks('the struct size is part of the ioctl ABI'),
        breaks('the struct size is part of the ioctl ABI'),
      );
  }
  if ((x.size !== y.size && !grewWithArgsz) || x.align !== y.align)
    add(
      ctx,
      'struct.size-changed',
      name,
      `struct ${name}: size ${x.size} → ${y.size} bytes, alignment ${x.align} → ${y.align}`,
      sites,
      breaks('ABI break: binaries built against the old size pass a buffer of the wrong size'),
      breaks('ABI break: copies to and from userspace change length'),
    );
  else if ((x.i386.size !== y.i386.size || x.i386.align !== y.i386.align) && !grewWithArgsz) {
    // Compared by size and alignment here and by field offset above, never by field name: a rename
    // changes the names, not the layout. Only an alignment (no field moved, same size), or growth at the
    // end that argsz tells apart, leaves what old 32-bit binaries pass meaning the same.
    const newAtEnd = y.fields
      .filter((g) => !xf.has(g.name) && !renamedTo.has(g.name))
      .every((g) => (y.i386.offsets[g.name] ?? -1) >= x.i386.size);
    if (!i386FieldMoved && x.i386.size === y.i386.size)
      add(
        ctx,
        'struct.i386-alignment-changed',
        name,
        `struct ${name}: 32-bit x86 alignment ${x.i386.align} → ${y.i386.align} (size ${y.i386.size} and every offset unchanged)`,
        sites,
        ok(
          'the kernel sees the same bytes; only where a 32-bit compiler places the struct inside a program’s own data changes when it is rebuilt',
        ),
        ok('compat ioctl handling copies the same bytes'),
      );
    else if (!bytesMoved && newAtEnd && y.i386.size > x.i386.size && hasArgsz(x) && hasArgsz(y) && y.minsz <= x.minsz)
      add(
        ctx,
        'struct.i386-grew-within-argsz',
        name,
        `struct ${name}: 32-bit x86 size ${x.i386.size} → ${y.i386.size} bytes, alignment ${x.i386.align} → ${y.i386.align}, no field moved; argsz tells the versions apart (minsz ${y.minsz})`,
        sites,
        ok('old 32-bit callers pass the old argsz, which is still accepted'),
        ok('drivers read the new bytes only when argsz covers them'),
      );
    else
      add(
        ctx,
        'struct.i386-layout-changed',
        name,
        `struct ${name}: 32-bit x86 size ${x.i386.size} → ${y.i386.size} bytes, alignment ${x.i386.align} → ${y.i386.align} (LP64 unchanged at ${y.size})`,
        sites,
        breaks('ABI break for 32-bit userspace: it passes a buffer of the old size'),
        breaks('compat ioctl handling copies a different length'),
      );
  }
  if (x.minsz !== y.minsz && !grewWithArgsz)
    add(
      ctx,
      y.minsz > x.minsz ? 'struct.minsz-raised' : 'struct.minsz-lowered',
      name,
      `struct ${name}: smallest accepted argsz ${x.minsz} → ${y.minsz}`,
      sites,
      y.minsz > x.minsz ? breaks(`callers passing argsz < ${y.minsz} are now refused`) : ok('more sizes accepted'),
      y.minsz > x.minsz
        ? ok('drivers may read more of the argument')
        : review(`drivers must not read beyond ${y.minsz} bytes unless argsz covers it`),
    );
  common(ctx, 'struct', name, x, y);
}

/** Every struct on either side. */
export function diffStructs(ctx: Ctx) {
  const { a, b } = ctx;
  keyed(
    a.structs,
    b.structs,
    (n, s) =>
      add(
        ctx,
        'struct.removed',
        n,
        `struct ${n} removed`,
        { old: s.site },
        breaks('source that names it no longer compiles'),
        review('drivers using it must change'),
      ),
    (n, s) =>
      add(
        ctx,
        'struct.added',
        n,
        `struct ${n} added (${s.size} bytes)`,
        { new: s.site },
        ok('new; nobody uses it yet'),
        ok('new; nobody uses it yet'),
      ),
    (n, x, y) => diffStruct(ctx, n, x, y),
  );
}
