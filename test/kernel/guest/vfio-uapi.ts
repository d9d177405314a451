// The `vfio-uapi` command as the guest runs it, bundled from the compiled package into
// build/kernel-guest/vfio-uapi.mjs (test/kernel/guest-bundle.ts). It is the package's own cli/main.js (dispatch,
// --help, one-line errors, exit codes) given the device commands as a table, since a bundle has no
// cli/commands/ folder for main to list; each command module is the compiled one, loaded when used.
// Usage: node vfio-uapi.mjs <info|save|load|migrate|conform|emulate> [args…]
import { main, type CommandLoader } from '../../../cli/main.js';

const deviceCommands: Record<string, CommandLoader> = {
  conform: () => import('../../../cli/commands/conform.js'),
  emulate: () => import('../../../cli/commands/emulate.js'),
  info: () => import('../../../cli/commands/info.js'),
  load: () => import('../../../cli/commands/load.js'),
  migrate: () => import('../../../cli/commands/migrate.js'),
  save: () => import('../../../cli/commands/save.js'),
};

process.exitCode = await main(process.argv.slice(2), deviceCommands);
