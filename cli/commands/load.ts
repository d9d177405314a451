import { parseArgs } from 'node:util';
import { DEVICE_HELP, EXIT_HELP } from '../help-text.js';
import type { Command } from '../command.js';

const load: Command = {
  summary: 'load a saved migration state into a device (RESUMING), then run it',
  usage: `vfio-uapi load DEVICE INPUT [options]

INPUT: a file written by \`vfio-uapi save\`, - for stdin, fd:N for an inherited descriptor, or unix:/PATH to
listen on a Unix socket there and load what the first connection sends (start this before the sender); the
result goes back on the connection, so \`vfio-uapi migrate SOURCE unix:/PATH\` resumes its source unless the
load confirms (use --migration-destination there).
The device must be at rest (RUNNING, RUNNING_P2P or STOP). The header is checked before the device is
touched (foreign or truncated files are refused); a file's whole checksum too. From a pipe or socket the
checksum and trailer are checked before the device leaves RESUMING. If anything fails once the device is in
RESUMING it is reset, so what it received is discarded, never loaded (runtime/migration/PROTOCOL.md); the
message says where the device ended.
options:
  --raw              the input is a bare stream without header and trailer
  --force            load even if the header names another device kind or other migration flags
  --final-state S    state to move to afterwards (default RUNNING)
  --migration-destination
                     this load is a migration's destination whose source resumes if it fails: a device that
                     fails after it loaded the stream is reset and then stopped, so it never runs beside the
                     source (migrate --processes 2 passes it to its child)
  --quiet            no progress on stderr

${DEVICE_HELP}

${EXIT_HELP}`,
  async run(args) {
    const rt = await import('../../runtime/index.js');
    const s = await import('../support.js');
    const json = args.includes('--json');
    let device: InstanceType<typeof rt.Device> | null = null;
    let source: import('../../runtime/index.js').Endpoint | null = null;
    let input: string | null = null;
    try {
      const { values, positionals } = parseArgs({
        args,
        options: {
          ...s.DEVICE_OPTIONS,
          raw: { type: 'boolean' },
          force: { type: 'boolean' },
          'final-state': { type: 'string' },
          'migration-destination': { type: 'boolean' },
          quiet: { type: 'boolean' },
        },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length !== 2) throw new s.UsageError('give DEVICE and INPUT');
      const [spec] = positionals as [string, string];
      input = positionals[1]!;
      const session = s.sessionOptions(values);
      const finalState = values['final-state'] as never;
      // Open the input before starting a device (a bad path fails first; a socket starts listening).
      source = rt.openSource(input);
      device = await rt.openDevice(spec, s.emulatorOptions(values));
      const before = await device.snapshot();
      const r = await rt.loadDevice(device, source, {
        raw: values.raw ?? false,
        force: values.force ?? false,
        ...(finalState ? { finalState } : {}),
        ...(values['migration-destination'] ? { migrationDestination: true } : {}),
        session,
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
      if (json) console.log(JSON.stringify(out));
      else
        console.log(
          `loaded ${s.formatBytes(r.streamBytes)} into ${spec}${r.header ? ` (saved from ${r.header.identity})` : ''}; device now ${device.state()}`,
        );
      return s.EXIT_CODES.ok;
    } catch (e) {
      // A sender on a socket waits for the result: tell it the load failed (it resumes its source).
      if (source && source.fd >= 0 && input?.startsWith('unix:'))
        (await import('../../runtime/stream/confirm.js')).sendResult(source.fd, {
          ok: false,
          ...(rt.isVfioError(e) ? e.toJSON() : { error: (e as Error).message, kind: 'failure' }),
        });
      return s.reportError('load', e, json);
    } finally {
      source?.close();
      await device?.close();
    }
  },
};
export default load;
