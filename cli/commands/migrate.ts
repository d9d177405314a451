import { DEVICE_HELP, EXIT_HELP, VALUES_HELP } from '../help-text.js';
import {
  checkDevice,
  choice,
  DEVICE_OPTIONS,
  endpoint,
  optionsHelp,
  parseCommandLine,
  STREAM_OPTIONS,
  TRANSFER_OPTIONS,
  type Positional,
} from '../options.js';
import type { Command } from '../command.js';
import { prestartEmulator } from '../prestart.js';
import { interruptSignal } from '../process-guard.js';

const OPTIONS = {
  processes: choice(
    ['1', '2'] as const,
    '1: both devices in this process (default); 2: the destination is loaded by a\nchild vfio-uapi process reading a Unix socket',
    { fallback: '1' },
  ),
  ...TRANSFER_OPTIONS,
  ...STREAM_OPTIONS,
  ...DEVICE_OPTIONS,
};

const SOURCE: Positional = { name: 'SOURCE', check: (t) => checkDevice(t, 'SOURCE') };
/** A device, or unix:/PATH where another process's `vfio-uapi load` listens. */
const DESTINATION: Positional = {
  name: 'DESTINATION',
  check: (t) => (t.startsWith('unix:') ? endpoint('DESTINATION').check(t) : checkDevice(t, 'DESTINATION')),
};

const migrate: Command = {
  summary: 'migrate a device into another: pre-copy, STOP_COPY, RESUMING, RUNNING — in one process or two',
  usage: `vfio-uapi migrate SOURCE DESTINATION [options]

Both devices are paths or emulated:… strings (emulated devices in one process share one emulator;
the destination gets a different seed so the final comparison means something). DESTINATION may also
be unix:/PATH: a \`vfio-uapi load DEVICE unix:/PATH\` in another process, started first, receives the
stream; compare its digest with the sourceDigest printed here. Before anything moves, a destination that
cannot take the source's stream (another driver, other migration flags) is refused, naming both.
Commit protocol (runtime/migration/PROTOCOL.md): the source is stopped once its stream is out and resumed
unless the destination confirms RUNNING (within --io-timeout); a destination that fails is reset, so what it
received is never loaded. Afterwards exactly one of them runs; a failure names the side and the call that
failed, and where both devices ended.
options:
${optionsHelp(OPTIONS)}

${DEVICE_HELP}
${VALUES_HELP}

${EXIT_HELP}`,
  async run(args) {
    prestartEmulator(args);
    const s = await import('../support.js');
    const json = args.includes('--json');
    const devices: import('../../runtime/index.js').Device[] = [];
    try {
      const { values, positionals } = parseCommandLine(args, OPTIONS, [SOURCE, DESTINATION]);
      const [srcSpec, dstSpec] = positionals as [string, string];
      const processes = values.processes;
      const session = s.sessionOptions(values);
      const emu = s.emulatorOptions(values);
      const signal = interruptSignal();
      const common = {
        ...s.transferOptions(values, json),
        ...s.transferLimits(values, signal),
        session,
      };
      const rt = await import('../../runtime/index.js');

      let summary: Record<string, unknown>;
      if (dstSpec.startsWith('unix:')) {
        // The destination is another process listening on a socket (\`vfio-uapi load DEVICE unix:/PATH\`): save
        // into it, header and trailer included, so it checks what arrives; then wait for its result on the same
        // connection. The source stays stopped only if the load confirms (PROTOCOL.md).
        const { awaitResult } = await import('../../runtime/stream/confirm.js');
        const { childFailure, childOutcome, verifyChild } = await import('../two-process.js');
        const source = await rt.openDevice(srcSpec, emu);
        devices.push(source);
        let sourceDigest: string | null = null;
        const out = rt.openSink(dstSpec, common);
        try {
          const r = await rt.saveDevice(source, out, {
            ...common,
            afterStopCopy: async () => {
              sourceDigest = (await source.snapshot())?.digest ?? null;
            },
          });
          // The answer comes from the peer: it gets as long as it may stall (--io-timeout; the variable still wins).
          const reply = await awaitResult(
            out.fd,
            Number(process.env.VFIO_UAPI_CONFIRM_WAIT_MS ?? values['io-timeout'] ?? rt.DEFAULT_IO_TIMEOUT_MS),
            signal,
          );
          if (!reply.ok) {
            const back = rt.MigrationSession.open(source, { role: 'source', recoveryState: r.startState });
            back.recover(`the destination did not confirm: ${reply.error ?? 'no result'}`);
            back.close();
            throw childFailure(reply, dstSpec, null).withOutcome([back.outcome(), ...childOutcome(reply, dstSpec)]);
          }
          summary = {
            processes: 'socket',
            ...r,
            outcome: [r.outcome[0], ...childOutcome(reply, dstSpec)],
            source: r.report,
            destination: reply,
            verification: verifyChild(reply, sourceDigest),
          };
        } finally {
          out.close();
        }
      } else if (processes === '1') {
        devices.push(...(await rt.openDevices([srcSpec, dstSpec], emu)));
        const r = await rt.migrate(devices[0]!, devices[1]!, common);
        summary = { processes: 1, ...r };
      } else {
        const { migrateToChild, verifyChild } = await import('../two-process.js');
        const childArgs = [
          '--migration-destination',
          ...(values.size !== undefined ? ['--size', String(values.size)] : []),
          '--seed',
          String(((emu.seed ?? 1) + 1) >>> 0),
          '--mode',
          session.mode,
          '--guard',
          session.guard,
          ...(values['io-timeout'] !== undefined ? ['--io-timeout', `${values['io-timeout']}ms`] : []),
        ];
        // The child starts first: it must not inherit this process's emulator (see startChildLoad).
        const r = await migrateToChild(
          async () => {
            const d = await rt.openDevice(srcSpec, emu);
            devices.push(d);
            return d;
          },
          dstSpec,
          childArgs,
          common,
        );
        summary = {
          processes: 2,
          ...r.save,
          outcome: r.outcome,
          source: r.report,
          destination: r.child,
          verification: verifyChild(r.child, r.sourceDigest),
        };
      }
      const r = summary as unknown as import('../../runtime/index.js').SaveResult & {
        verification: import('../../runtime/index.js').Verification;
      };
      if (json) console.log(JSON.stringify({ ok: true, source: srcSpec, destination: dstSpec, ...summary }));
      else {
        const rate = (r.totalBytes / r.elapsedMs) * 1000;
        const v = r.verification;
        console.log(
          `migrated ${srcSpec} -> ${dstSpec} (${summary.processes === 'socket' ? 'to the process listening there' : `${summary.processes} process${summary.processes === 1 ? '' : 'es'}`})`,
        );
        console.log(`  pre-copy:   ${r.rounds} round(s), ${s.formatBytes(r.precopyBytes)}`);
        for (const d of r.decisions) console.log(`    round ${d.round}: ${d.stop ? 'stop' : 'continue'} — ${d.reason}`);
        console.log(
          `  stop-copy:  ${s.formatBytes(r.stopCopyBytes)} in ${r.stopCopyMs.toFixed(0)} ms (downtime phase)` +
            (r.stopCopyEstimate !== null ? `, device estimated ${s.formatBytes(r.stopCopyEstimate)}` : ''),
        );
        console.log(
          `  total:      ${s.formatBytes(r.totalBytes)} in ${(r.elapsedMs / 1000).toFixed(2)} s, ${s.formatBytes(rate)}/s`,
        );
        const outcome = summary.outcome as import('../../runtime/index.js').DeviceOutcome[] | undefined;
        if (outcome) console.log(`  outcome:    ${rt.describeOutcome(outcome)}`);
        console.log(
          `  verified:   ${v.checked ? (v.equal ? `destination state equals source (digest ${v.sourceDigest})` : 'MISMATCH') : v.sourceDigest ? `by the destination process: its digest should be ${v.sourceDigest}` : 'not possible (real devices have no digest)'}` +
            (v.differedBefore ? '; the destination differed before' : ''),
        );
      }
      return s.EXIT_CODES.ok;
    } catch (e) {
      return s.reportError('migrate', e, json);
    } finally {
      for (const d of devices) await d.close();
    }
  },
};
export default migrate;
