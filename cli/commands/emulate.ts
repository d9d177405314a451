import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { Command } from '../command.js';

const emulate: Command = {
  summary: 'start emulated VFIO devices (mtty, hisi-acc, mlx5, with quirks) and print their placeholder nodes',
  usage: [
    'vfio-uapi emulate emulated:PERSONALITY[+QUIRK...] [more devices...] [--size BYTES] [--seed N] [--json] [--run SCRIPT]',
    '',
    'The emulated nodes answer only the threads of THIS process (a seccomp filter on this process): another',
    'process opening them sees plain empty files. Use it for demos, for --json in tooling that runs in the same',
    'process, or --run SCRIPT, which imports SCRIPT here once the devices are up (the node paths are in',
    'process.env.VFIO_UAPI_EMULATOR as JSON) and stops when it finishes. Otherwise runs until Ctrl-C.',
    'Personalities: mtty, hisi-acc, mlx5. --size sets the mlx5 state size (default 4 MiB).',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        size: { type: 'string' },
        seed: { type: 'string' },
        run: { type: 'string' },
      },
      strict: true,
    });
    const { parseEmulatedSpec, startEmulator } = await import('../../runtime/emulator/index.js');
    if (positionals.length === 0) {
      console.error('name at least one device, e.g. `vfio-uapi emulate emulated:mlx5`');
      return 2;
    }
    const devices = positionals.map((spec) => {
      const options = parseEmulatedSpec(spec);
      if (!options) throw new Error(`"${spec}" is not an emulated device (expected emulated:PERSONALITY[+QUIRK...])`);
      if (values.size) options.stateSize = Number(values.size);
      if (values.seed) options.seed = Number(values.seed);
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
