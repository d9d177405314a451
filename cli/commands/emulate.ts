import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { checkDevice, DEVICE_OPTIONS, parseCommandLine, text, UsageError } from '../options.js';
import type { Command } from '../command.js';

const OPTIONS = {
  json: DEVICE_OPTIONS.json,
  size: DEVICE_OPTIONS.size,
  seed: DEVICE_OPTIONS.seed,
  run: text('import SCRIPT once the devices are up, then stop', { arg: 'SCRIPT' }),
};
const DEVICES = {
  name: 'DEVICE',
  variadic: true,
  check(t: string) {
    checkDevice(t);
    if (!t.startsWith('emulated:'))
      throw new UsageError(`${JSON.stringify(t)} is not an emulated device (expected emulated:PERSONALITY[+QUIRK...])`);
    return t;
  },
};

const emulate: Command = {
  summary: 'start emulated VFIO devices (mtty, hisi-acc, mlx5, with quirks) and print their placeholder nodes',
  usage: [
    'vfio-uapi emulate emulated:PERSONALITY[+QUIRK...] [more devices...] [--size BYTES] [--seed N] [--json] [--run SCRIPT]',
    '',
    'The emulated nodes answer only the threads of THIS process (a seccomp filter on this process): another',
    'process opening them sees plain empty files. Use it for demos, for --json in tooling that runs in the same',
    'process, or --run SCRIPT, which imports SCRIPT here once the devices are up (the node paths are in',
    'process.env.VFIO_UAPI_EMULATOR as JSON) and stops when it finishes. Otherwise runs until Ctrl-C.',
    'Personalities: mtty, hisi-acc, mlx5, nomig. --size SIZE sets the mlx5 state size (default 4 MiB; B to TiB, at',
    "most this machine's memory); --seed N the first device's seed (later ones get N+1, …).",
  ].join('\n'),
  async run(args) {
    let parsed: ReturnType<typeof parseCommandLine<typeof OPTIONS>>;
    try {
      parsed = parseCommandLine(args, OPTIONS, [DEVICES]);
    } catch (e) {
      console.error(`vfio-uapi emulate: ${(e as Error).message}`);
      return 2;
    }
    const { values, positionals } = parsed;
    const { parseEmulatedSpec, startEmulator } = await import('../../runtime/emulator/index.js');
    const devices = positionals.map((spec, i) => {
      const options = parseEmulatedSpec(spec)!;
      if (values.size !== undefined) options.stateSize = values.size;
      if (values.seed !== undefined) options.seed = (values.seed + i) >>> 0;
      return options;
    });
    const emu = await startEmulator({ devices });
    const info = {
      pid: process.pid,
      visibleTo: 'this process only',
      containerPath: emu.containerPath,
      iommufdPath: emu.iommufdPath,
      devices: emu.devices,
    };
    if (values.json) console.log(JSON.stringify(info));
    else {
      console.log(`emulated VFIO devices (visible to threads of pid ${process.pid} only):`);
      console.log(`  container ${info.containerPath}`);
      console.log(`  iommufd   ${info.iommufdPath}`);
      for (const d of emu.devices)
        console.log(
          `  [${d.index}] ${d.personality}${d.quirks.length ? '+' + d.quirks.join('+') : ''}: cdev ${d.cdevPath}, ` +
            `group ${d.groupPath} (device name ${d.groupDeviceName})`,
        );
    }
    if (values.run) {
      process.env.VFIO_UAPI_EMULATOR = JSON.stringify(info);
      try {
        await import(pathToFileURL(resolve(values.run)).href);
      } finally {
        await emu.stop();
      }
      return 0;
    }
    if (!values.json) console.log('running; Ctrl-C to stop');
    await new Promise<void>((done) => {
      const keepAlive = setInterval(() => {}, 1 << 30);
      process.once('SIGINT', () => {
        clearInterval(keepAlive);
        done();
      });
      process.once('SIGTERM', () => {
        clearInterval(keepAlive);
        done();
      });
    });
    await emu.stop();
    return 0;
  },
};
export default emulate;
