import { parseArgs } from 'node:util';
import { DEVICE_HELP, EXIT_HELP } from '../help-text.js';
import type { Command } from '../command.js';

const save: Command = {
  summary: "save a device's migration state (pre-copy rounds, then STOP_COPY) to a file, pipe or stdout",
  usage: `vfio-uapi save DEVICE OUTPUT [options]

OUTPUT: a file path, - for stdout, fd:N for an inherited descriptor (e.g. a socket), or unix:/PATH to
connect to a \`vfio-uapi load DEVICE unix:/PATH\` listening there (waits up to 10 s for it).
A running device (RUNNING, RUNNING_P2P) pre-copies first; a stopped one (STOP) goes straight to STOP_COPY;
any other state is refused before the device is touched. If the save fails the device goes back to the
state it started in (runtime/migration/PROTOCOL.md); the message says where it ended.
options:
  --raw              write the bare stream, without the vfio-uapi header and trailer
  --no-precopy       skip pre-copy and go straight to STOP_COPY
  --precopy-info-v2  opt in to PRECOPY_INFOv2 (REINIT reports); not sent otherwise, as QEMU does
  --max-rounds N     pre-copy round limit (default 8)
  --dirty-threshold SIZE  stop pre-copy once dirty data is at most this (default 1MiB)
  --final-state S    state to leave the device in afterwards (default STOP; RUNNING resumes it)
  --quiet            no progress on stderr

${DEVICE_HELP}

${EXIT_HELP}`,
  async run(args) {
    const rt = await import('../../runtime/index.js');
    const s = await import('../support.js');
    const json = args.includes('--json');
    let device: InstanceType<typeof rt.Device> | null = null;
    try {
      const { values, positionals } = parseArgs({
        args,
        options: {
          ...s.DEVICE_OPTIONS,
          ...s.TRANSFER_OPTIONS,
          raw: { type: 'boolean' },
          'final-state': { type: 'string' },
        },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length !== 2) throw new s.UsageError('give DEVICE and OUTPUT');
      const [spec, output] = positionals as [string, string];
      const session = s.sessionOptions(values);
      const finalState = values['final-state'] as never;
      device = await rt.openDevice(spec, s.emulatorOptions(values));
      // Open the output only after the device: a bad device must not leave an empty file behind.
      const r = await rt.saveDevice(device, output, {
        raw: values.raw ?? false,
        ...s.transferOptions(values, json),
        ...(finalState ? { finalState } : {}),
        session,
      });
      const snap = await device.snapshot();
      // With the stream on stdout, the summary must not be mixed into it.
      const print = output === '-' ? (t: string) => console.error(t) : (t: string) => console.log(t);
      const out = { ok: true, device: spec, output, ...r, digest: snap?.digest ?? null };
      if (json) print(JSON.stringify(out, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
      else
        print(
          `saved ${s.formatBytes(r.totalBytes)} from ${spec} to ${output}: ${r.rounds} pre-copy round(s) ${s.formatBytes(r.precopyBytes)}, ` +
            `stop-copy ${s.formatBytes(r.stopCopyBytes)}, ${s.formatBytes((r.totalBytes / r.elapsedMs) * 1000)}/s` +
            (r.checksum !== null ? `, checksum ${r.checksum}` : '') +
            `; device now ${r.outcome[0]?.state ?? 'unknown'}`,
        );
      return s.EXIT_CODES.ok;
    } catch (e) {
      return s.reportError('save', e, json);
    } finally {
      await device?.close();
    }
  },
};
export default save;
