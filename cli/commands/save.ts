import { DEVICE_HELP, EXIT_HELP, VALUES_HELP } from '../help-text.js';
import {
  checkFitsOnDisk,
  DEVICE,
  DEVICE_OPTIONS,
  endpoint,
  finalState,
  flag,
  optionsHelp,
  parseCommandLine,
  STREAM_OPTIONS,
  TRANSFER_OPTIONS,
} from '../options.js';
import type { Command } from '../command.js';
import { prestartEmulator } from '../prestart.js';
import { interruptSignal } from '../process-guard.js';

const OPTIONS = {
  raw: flag('write the bare stream, without the vfio-uapi header and trailer'),
  ...TRANSFER_OPTIONS,
  'final-state': finalState('state to leave the device in afterwards (default STOP; RUNNING resumes it)'),
  ...STREAM_OPTIONS,
  ...DEVICE_OPTIONS,
};

const save: Command = {
  summary: "save a device's migration state (pre-copy rounds, then STOP_COPY) to a file, pipe or stdout",
  usage: `vfio-uapi save DEVICE OUTPUT [options]

OUTPUT: a file path, - for stdout (not a terminal), fd:N for an inherited descriptor (e.g. a socket), or
unix:/PATH to connect to a \`vfio-uapi load DEVICE unix:/PATH\` listening there. A file is written
atomically: a temporary file beside it, renamed over it once the whole state is in, so a failed or
interrupted save leaves what was there. A device node or FIFO is written in place.
A running device (RUNNING, RUNNING_P2P) pre-copies first; a stopped one (STOP) goes straight to STOP_COPY;
any other state is refused before the device is touched. If the save fails the device goes back to the
state it started in (runtime/migration/PROTOCOL.md); the message says where it ended.
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
    let sink: import('../../runtime/stream/endpoints.js').Endpoint | null = null;
    let output = '';
    try {
      const { values, positionals } = parseCommandLine(args, OPTIONS, [DEVICE, endpoint('OUTPUT')]);
      const [spec, out] = positionals as [string, string];
      output = out;
      if (values.size !== undefined && spec.startsWith('emulated:')) checkFitsOnDisk(output, values.size);
      const signal = interruptSignal();
      const limits = s.transferLimits(values, signal);
      // The modules this command uses, not the whole runtime (runtime/index.js): less to load on every start.
      const { openDevice } = await import('../../runtime/device/open.js');
      const { openSink } = await import('../../runtime/stream/endpoints.js');
      const { saveDevice } = await import('../../runtime/convenience.js');
      // The output first: a path that cannot be written fails before any device is touched. Nothing appears
      // at the path until the save is complete (a file is committed at the end), so nothing is left behind.
      sink = openSink(output, limits);
      device = await openDevice(spec, s.emulatorOptions(values));
      const r = await saveDevice(device, sink, {
        raw: values.raw,
        ...s.transferOptions(values, json),
        ...limits,
        ...(values['final-state'] ? { finalState: values['final-state'] } : {}),
        session: s.sessionOptions(values),
      });
      const snap = await device.snapshot();
      // With the stream on stdout, the summary must not be mixed into it.
      const print = output === '-' ? (t: string) => console.error(t) : (t: string) => console.log(t);
      const result = { ok: true, device: spec, output, ...r, digest: snap?.digest ?? null };
      if (json) print(JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
      else
        print(
          `saved ${s.formatBytes(r.totalBytes)} from ${spec} to ${output}: ${r.rounds} pre-copy round(s) ${s.formatBytes(r.precopyBytes)}, ` +
            `stop-copy ${s.formatBytes(r.stopCopyBytes)}, ${s.formatBytes((r.totalBytes / r.elapsedMs) * 1000)}/s` +
            (r.checksum !== null ? `, checksum ${r.checksum}` : '') +
            `; device now ${r.outcome[0]?.state ?? 'unknown'}`,
        );
      return s.EXIT_CODES.ok;
    } catch (e) {
      return s.reportError('save', e, json, device ? s.afterFailedSave(output) : '');
    } finally {
      sink?.close();
      await device?.close();
    }
  },
};
export default save;
