import { DEVICE_HELP, EXIT_HELP, VALUES_HELP } from '../help-text.js';
import { DEVICE, DEVICE_OPTIONS, optionsHelp, parseCommandLine } from '../options.js';
import type { Command } from '../command.js';
import { prestartEmulator } from '../prestart.js';
import { interruptSignal } from '../process-guard.js';

const OPTIONS = DEVICE_OPTIONS;

const info: Command = {
  summary: 'open a device and show its info, features, migration capabilities and state',
  usage: `vfio-uapi info DEVICE [options]

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
    try {
      // The modules this command uses, not the whole runtime (runtime/index.js): less to load on every start.
      const { openDevice } = await import('../../runtime/device/open.js');
      // Ctrl-C while the device is open: finish (it is quick), close it, then exit 130 (process-guard.ts).
      interruptSignal();
      const { values, positionals } = parseCommandLine(args, OPTIONS, [DEVICE]);
      device = await openDevice(positionals[0]!, s.emulatorOptions(values));
      const devInfo = device.info();
      const features = device.features();
      const migration = device.migration();
      const state = migration ? device.state() : null;
      const dataSize = migration ? device.dataSize() : null;
      const out = {
        ok: true,
        device: device.id.spec,
        access: device.id.access,
        info: devInfo,
        migration: migration && { ...migration, problems: migration.problems },
        state,
        dataSize: dataSize === null ? null : Number(dataSize),
        features: features.map((f) => ({ name: f.short, present: f.present, errno: f.errno })),
      };
      if (json) console.log(JSON.stringify(out));
      else {
        console.log(`${out.device} (${out.access})`);
        console.log(
          `  regions ${devInfo.num_regions}, irqs ${devInfo.num_irqs}, flags 0x${devInfo.flags.toString(16)}`,
        );
        if (!migration) console.log('  migration: not supported');
        else {
          console.log(`  migration: ${migration.capsKey} (flags 0x${migration.flags.toString(16)}), state ${state}`);
          if (migration.expectsPrecopyInfo)
            console.log('  PRE_COPY: the device must answer VFIO_MIG_GET_PRECOPY_INFO while pre-copying');
          if (dataSize !== null)
            console.log(`  MIG_DATA_SIZE: ${s.formatBytes(Number(dataSize))} expected in STOP_COPY`);
          for (const p of migration.problems) console.log(`  problem [${p.rule}]: ${p.message}`);
        }
        console.log(
          `  features: ${
            features
              .filter((f) => f.present)
              .map((f) => f.short)
              .join(', ') || 'none'
          }`,
        );
      }
      return s.EXIT_CODES.ok;
    } catch (e) {
      return s.reportError('info', e, json);
    } finally {
      await device?.close();
    }
  },
};
export default info;
