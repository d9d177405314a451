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

const OPTIONS = {
  raw: flag('the input is a bare stream without header and trailer'),
  force: flag('load even if the header names another driver or other migration flags'),
  'final-state': finalState('state to move to afterwards (default RUNNING)'),
  ...STREAM_OPTIONS,
  ...DEVICE_OPTIONS,
};

const load: Command = {
  summary: 'load a saved migration state into a device (RESUMING), then run it',
  usage: `vfio-uapi load DEVICE INPUT [options]

INPUT: a file written by \`vfio-uapi save\`, - for stdin (not a terminal), fd:N for an inherited descriptor,
or unix:/PATH to listen on a Unix socket there and load what the first connection sends (start this before
the sender; a stale socket there is replaced, anything else at the path is refused). The header is checked
before the device is touched (foreign, damaged or truncated files, and streams for another driver or other
migration flags, are refused), the checksum and trailer before the device leaves RESUMING.
options:
${optionsHelp(OPTIONS)}

${DEVICE_HELP}
${VALUES_HELP}

${EXIT_HELP}`,
  async run(args) {
    const s = await import('../support.js');
    const { interruptSignal } = await import('../process-guard.js');
    const json = args.includes('--json');
    let device: import('../../runtime/index.js').Device | null = null;
    let source: import('../../runtime/index.js').Endpoint | null = null;
    try {
      const { values, positionals } = parseCommandLine(args, OPTIONS, [DEVICE, endpoint('INPUT')]);
      const [spec, input] = positionals as [string, string];
      const signal = interruptSignal();
      const limits = s.transferLimits(values, signal);
      const rt = await import('../../runtime/index.js');
      // Open the input before starting a device (a bad path fails first; a socket starts listening).
      source = rt.openSource(input, limits);
      device = await rt.openDevice(spec, s.emulatorOptions(values));
      const before = await device.snapshot();
      const r = await rt.loadDevice(device, source, {
        raw: values.raw,
        force: values.force,
        ...(values['final-state'] ? { finalState: values['final-state'] } : {}),
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
      if (json)
        console.log(JSON.stringify(out, (_k, v) => (typeof v === 'bigint' ? v.toString(16).padStart(16, '0') : v)));
      else
        console.log(
          `loaded ${s.formatBytes(r.streamBytes)} into ${spec}${r.header ? ` (saved from ${r.header.identity})` : ''}; device now ${device.state()}`,
        );
      return s.EXIT_CODES.ok;
    } catch (e) {
      return s.reportError('load', e, json, device ? s.deviceNow(device) : '');
    } finally {
      source?.close();
      await device?.close();
    }
  },
};
export default load;
