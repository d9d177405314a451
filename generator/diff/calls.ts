/** The calls: ioctls, VFIO_DEVICE_FEATURE features and fd kinds. */
import { breaks, ok, review } from './changes.js';
import { add, common, eq, keyed, type Ctx } from './context.js';

/** ioctls and features: numbers, fds, arguments, sizes, accesses, who answers. */
export function diffCalls(ctx: Ctx) {
  const { a, b } = ctx;
  // ioctls.
  keyed(
    a.ioctls,
    b.ioctls,
    (n, i) =>
      add(
        ctx,
        'ioctl.removed',
        n,
        `ioctl ${n} (0x${i.number.toString(16)} on ${i.fd} fds) removed`,
        { old: i.site },
        breaks('programs that issue it now get ENOTTY'),
        ok('drivers need no longer implement it'),
      ),
    (n, i) =>
      add(
        ctx,
        'ioctl.added',
        n,
        `ioctl ${n} added (0x${i.number.toString(16)} on ${i.fd} fds)`,
        { new: i.site },
        ok('new; programs opt in by calling it'),
        ok('new; obligations, if any, come from rules'),
      ),
    (n, x, y) => {
      const sites = { old: x.site, new: y.site };
      if (x.number !== y.number || !eq(x.numberByArch, y.numberByArch))
        add(
          ctx,
          'ioctl.number-changed',
          n,
          `ioctl ${n}: number 0x${x.number.toString(16)} → 0x${y.number.toString(16)} (nr ${x.nr} → ${y.nr})`,
          sites,
          breaks('ABI break: binaries issue the old number'),
          breaks('ABI break: the handler answers a different number'),
        );
      if (x.fd !== y.fd)
        add(
          ctx,
          'ioctl.fd-changed',
          n,
          `ioctl ${n}: issued on ${x.fd} fds → ${y.fd} fds`,
          sites,
          breaks('programs issue it on the wrong fd'),
          breaks('the handler moves to another fd kind'),
        );
      if (!eq(x.arg, y.arg))
        add(
          ctx,
          'ioctl.arg-changed',
          n,
          `ioctl ${n}: argument ${JSON.stringify(x.arg)} → ${JSON.stringify(y.arg)}`,
          sites,
          breaks('the argument is passed differently'),
          breaks('the argument is read differently'),
        );
      if ((x.minsz ?? null) !== (y.minsz ?? null))
        add(
          ctx,
          'ioctl.minsz-changed',
          n,
          `ioctl ${n}: minimum argsz ${x.minsz ?? 'struct'} → ${y.minsz ?? 'struct'}`,
          sites,
          (y.minsz ?? 0) > (x.minsz ?? 0) ? breaks('smaller arguments now refused') : ok('more sizes accepted'),
          review('check argsz handling'),
        );
      if ((x.returnsFd ?? null) !== (y.returnsFd ?? null))
        add(
          ctx,
          'ioctl.returns-fd-changed',
          n,
          `ioctl ${n}: returns ${x.returnsFd ?? 'no fd'} → ${y.returnsFd ?? 'no fd'}`,
          sites,
          breaks('the return value means something else'),
          breaks('the return value means something else'),
        );
      common(ctx, 'ioctl', n, x, y);
    },
  );

  // Features.
  keyed(
    a.features,
    b.features,
    (n, f) =>
      add(
        ctx,
        'feature.removed',
        n,
        `feature ${n} (index ${f.index}, ${f.ops.join('/')}) removed`,
        { old: f.site },
        breaks('programs that use it now get ENOTTY'),
        ok('drivers need no longer implement it'),
      ),
    (n, f) =>
      add(
        ctx,
        'feature.added',
        n,
        `feature ${n} added (index ${f.index}, ${f.ops.join('/')}${f.payload ? `, payload ${f.payload}` : ''})`,
        { new: f.site },
        ok('new; programs detect it with PROBE'),
        f.handler === 'driver'
          ? ok('new; drivers opt in by implementing it')
          : ok('new; answered by the core or per the rules'),
      ),
    (n, x, y) => {
      const sites = { old: x.site, new: y.site };
      if (x.index !== y.index)
        add(
          ctx,
          'feature.index-changed',
          n,
          `feature ${n}: index ${x.index} → ${y.index}`,
          sites,
          breaks('ABI break: programs send the old index'),
          breaks('ABI break'),
        );
      const lost = x.ops.filter((o) => !y.ops.includes(o));
      const gained = y.ops.filter((o) => !x.ops.includes(o));
      if (lost.length)
        add(
          ctx,
          'feature.op-removed',
          n,
          `feature ${n}: ${lost.join('/')} no longer supported`,
          sites,
          breaks(`programs that ${lost.join('/')} it now get EINVAL`),
          ok('less to implement'),
        );
      if (gained.length)
        add(
          ctx,
          'feature.op-added',
          n,
          `feature ${n}: now also supports ${gained.join('/')}`,
          sites,
          ok('new access; programs opt in'),
          x.handler === 'driver' ? review(`drivers must answer ${gained.join('/')}`) : ok('answered by the core'),
        );
      if (x.payload !== y.payload)
        add(
          ctx,
          'feature.payload-changed',
          n,
          `feature ${n}: payload ${x.payload ?? 'none'} → ${y.payload ?? 'none'}`,
          sites,
          breaks('the payload is encoded differently'),
          breaks('the payload is decoded differently'),
        );
      if (x.minsz !== y.minsz)
        add(
          ctx,
          'feature.minsz-changed',
          n,
          `feature ${n}: payload minimum ${x.minsz} → ${y.minsz} bytes`,
          sites,
          y.minsz > x.minsz ? breaks('smaller payloads now refused with EINVAL') : ok('more sizes accepted'),
          y.minsz > x.minsz ? ok('nothing to change') : review('drivers must not read past the new minimum'),
        );
      if (x.handler !== y.handler)
        add(
          ctx,
          'feature.handler-changed',
          n,
          `feature ${n}: answered by the ${x.handler} → the ${y.handler}`,
          sites,
          ok('same interface'),
          y.handler === 'driver'
            ? breaks('drivers must now implement it themselves')
            : review('the core answers; driver code for it is no longer called'),
        );
      if (x.needs !== y.needs)
        add(
          ctx,
          'feature.needs-changed',
          n,
          `feature ${n}: needs ${x.needs} → ${y.needs}`,
          sites,
          review('devices that answered it may now refuse it, or the reverse'),
          review('which devices must answer it changed'),
        );
      if (x.missing !== y.missing)
        add(
          ctx,
          'rule.errno-changed',
          n,
          `feature ${n}: errno when unsupported ${x.missing} → ${y.missing}`,
          sites,
          review(`programs that test for ${x.missing} must test for ${y.missing}`),
          review(`drivers returning ${x.missing} themselves must return ${y.missing}`),
        );
      common(ctx, 'feature', n, x, y);
    },
  );
}

/** fd kinds: how a program obtains them. */
export function diffFdKinds(ctx: Ctx) {
  const { a, b } = ctx;
  // fd kinds.
  keyed(
    a.fdKinds,
    b.fdKinds,
    (n, f) =>
      add(
        ctx,
        'fd-kind.removed',
        n,
        `fd kind ${n} removed`,
        { old: f.site },
        breaks('programs can no longer obtain it'),
        review('drivers serving it must change'),
      ),
    (n, f) =>
      add(ctx, 'fd-kind.added', n, `fd kind ${n} added (${f.obtainedBy})`, { new: f.site }, ok('new'), ok('new')),
    (n, x, y) => {
      if ((x.extends ?? null) !== (y.extends ?? null) || x.obtainedBy !== y.obtainedBy)
        add(
          ctx,
          'fd-kind.changed',
          n,
          `fd kind ${n}: obtained by "${x.obtainedBy}"${x.extends ? ` extends ${x.extends}` : ''} → "${y.obtainedBy}"${y.extends ? ` extends ${y.extends}` : ''}`,
          { old: x.site, new: y.site },
          review('how programs get the fd, or what it accepts, changed'),
          review('check the fd handling'),
        );
      common(ctx, 'fd kind', n, x, y);
    },
  );
}
