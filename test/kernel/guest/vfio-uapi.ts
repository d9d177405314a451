// The `vfio-uapi` command line as the guest runs it: bundled to build/kernel-guest/vfio-uapi.mjs.
// cli/main.ts finds its commands by listing cli/commands/*.ts, which a bundle does not have, so this
// entry imports the device commands statically and dispatches the way cli/main.ts does. The commands'
// own code (option parsing, runtime calls, output, exit codes) is what runs.
// Usage: node vfio-uapi.mjs <info|save|load|migrate|conform> [args…]
import type { Command } from '../../../cli/command.js';
import conform from '../../../cli/commands/conform.js';
import info from '../../../cli/commands/info.js';
import load from '../../../cli/commands/load.js';
import migrate from '../../../cli/commands/migrate.js';
import save from '../../../cli/commands/save.js';

export const guestCommands: Record<string, Command> = { conform, info, load, migrate, save };

const usageExit = 2;

async function main(argv: string[]): Promise<number> {
  const [name = '', ...rest] = argv;
  const command = guestCommands[name];
  if (!command) {
    console.error(`vfio-uapi (guest bundle): command "${name}" is not bundled; have ${Object.keys(guestCommands)}`);
    return usageExit;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${command.usage}\n\n${command.summary}`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    console.error(`vfio-uapi ${name}: ${(error as Error).message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
