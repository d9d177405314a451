import { DEVICE_HELP, EXIT_HELP, VALUES_HELP } from '../help-text.js';
import {
  DEVICE,
  DEVICE_OPTIONS,
  endpoint,
  finalState,
  flag,
  optionsHelp,
  parseCommandLine,
  STREAM_OPTIONS,
} from '../options.js';
import type { Command } from '../command.js';
import { prestartEmulator } from '../prestart.js';
import { interruptSignal } from '../process-guard.js';

const OPTIONS = {
  raw: flag('the input is a bare stream without header and trailer'),
  force: flag('load even if the header names another driver or other migration flags'),
  'final-state': finalState('state to move to afterwards (default RUNNING)'),
  'migration-destination': flag(
    "this load is a migration's destination whose source resumes if it fails: a device that fails after\nit loaded the stream is reset and then stopped, so it never runs beside the source\n(migrate --processes 2 passes it to its child)",
  ),
  ...STREAM_OPTIONS,
  ...DEVICE_OPTIONS,
};

const load: Command = {
  summary: 'load a saved migration state into a device (RESUMING), then run it',
  usage: `vfio-uapi load DEVICE INPUT [options]

INPUT: a file written by \`vfio-uapi save\`, - for stdin (not a terminal), fd:N for an inherited descriptor,
or unix:/PATH to listen on a Unix socket there and load what the first connection sends (start this before
the sender; a stale socket there is replaced, anything else at the path is refused); the result goes back on
the connection, so \`vfio-uapi migrate SOURCE unix:/PATH\` resumes its source unless the load confirms (use
--migration-destination there).
The device must be at rest (RUNNING, RUNNING_P2P or STOP). The header is checked before the device is
touched (foreign, damaged or truncated files, and streams for another driver or other migration flags, are
refused); a file's whole checksum too. From a pipe or socket the checksum and trailer are checked before the
device leaves RESUMING. If anything fails once the device is in RESUMING it is reset, so what it received is
discarded, never loaded (runtime/migration/PROTOCOL.md); the message says where the device ended.
options:
${optionsHelp(OPTIONS)}

${DEVICE_HELP}
${VALUES_HELP}

${EXIT_HELP}`,
  async run(args) {
    prestartEmulator(args);
    const s = await import('../support.js');
    const json = args.includes('--json');
    let device: import('../../runtime/device/device.js').Device | null = null;
    let source: import('../../runtime/stream/endpoints.js').Endpoint | null = null;
    let input: string | null = null;
    try {
      const { values, positionals } = parseCommandLine(args, OPTIONS, [DEVICE, endpoint('INPUT')]);
      const [spec] = positionals as [string, string];
      input = positionals[1]!;
      const signal = interruptSignal();
      const limits = s.transferLimits(values, signal);
      // The modules this command uses, not the whole runtime (runtime/index.js): less to load on every start.
      const { openDevice } = await import('../../runtime/device/open.js');
      const { openSource } = await import('../../runtime/stream/endpoints.js');
      const { loadDevice } = await import('../../runtime/convenience.js');
      // Open the input before starting a device (a bad path fails first; a socket starts listening).
      source = openSource(input, limits);
      device = await openDevice(spec, s.emulatorOptions(values));
      const before = await device.snapshot();
      const r = await loadDevice(device, source, {
        raw: values.raw,
        force: values.force,
        ...(values['final-state'] ? { finalState: values['final-state'] } : {}),
        ...(values['migration-destination'] ? { migrationDestination: true } : {}),
        ...limits,
        session: s.sessionOptions(values),
        onProgress: s.progressPrinter(!values.quiet && !(json && !process.stderr.isTTY)),
      });
      const snap = await device.snapshot();
      const out = {
        ok: true,
        device: spec,
        input,
        ...r,
        digestBefore: before?.digest ?? null,
        digest: snap?.digest ?? null,
      };
      if (input.startsWith('unix:')) (await import('../../runtime/stream/confirm.js')).sendResult(source.fd, out);
      if (json)
        console.log(JSON.stringify(out, (_k, v) => (typeof v === 'bigint' ? v.toString(16).padStart(16, '0') : v)));
      else
        console.log(
          `loaded ${s.formatBytes(r.streamBytes)} into ${spec}${r.header ? ` (saved from ${r.header.identity})` : ''}; device now ${device.state()}`,
        );
      return s.EXIT_CODES.ok;
    } catch (e) {
      // A sender on a socket waits for the result: tell it the load failed (it resumes its source).
      if (source && source.fd >= 0 && input?.startsWith('unix:')) {
        const { isVfioError } = await import('../../runtime/errors.js');
        (await import('../../runtime/stream/confirm.js')).sendResult(source.fd, {
          ok: false,
          ...(isVfioError(e) ? e.toJSON() : { error: (e as Error).message, kind: 'failure' }),
        });
      }
      return s.reportError('load', e, json);
    } finally {
      source?.close();
      await device?.close();
    }
  },
};
export default load;
