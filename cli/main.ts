import { readdirSync } from 'node:fs';

/**
 * The `vfio-uapi` command line. Each command lives in cli/commands/<name>.ts and is loaded only when
 * used, so `vfio-uapi check` never pays for koffi and `vfio-uapi save` never pays for ts-morph.
 * Device commands import the runtime; the tool commands import the generator and are compiled into the
 * vfio-uapi-tools package (tools.ts), so this dispatcher finds them there when they are not beside it.
 */

import type { Command } from './command.js';
import { finishCommand, guardStdout, oneLine } from './process-guard.js';
import { TOOL_COMMANDS, TOOLS_HINT, TOOLS_PACKAGE, toolsMissing } from './tools.js';

export type { Command };

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const commandsDir = new URL('./commands/', import.meta.url).pathname;

/** Loads one command module. */
export type CommandLoader = () => Promise<{ default: Command }>;

/** Command name → loader. Each file cli/commands/<name>.ts default-exports a Command; adding one touches nothing else. */
function commands(): Record<string, CommandLoader> {
  const out: Record<string, CommandLoader> = {};
  for (const f of readdirSync(commandsDir).sort()) {
    if (!f.endsWith(ext) || f.endsWith(`.test${ext}`) || f.endsWith('.d.ts')) continue;
    const name = f.slice(0, -ext.length);
    out[name] = () => import(commandsDir + f);
  }
  for (const name of TOOL_COMMANDS) out[name] ??= () => import(`${TOOLS_PACKAGE}/commands/${name}`);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

async function help(loaders: Record<string, CommandLoader>): Promise<string> {
  const lines = ['usage: vfio-uapi <command> [options]', '', 'commands:'];
  let missing = false;
  for (const [name, load] of Object.entries(loaders)) {
    try {
      lines.push(`  ${name.padEnd(13)} ${(await load()).default.summary}`);
    } catch (error) {
      if (!toolsMissing(error)) throw error;
      missing = true;
      lines.push(`  ${name.padEnd(13)} (not installed)`);
    }
  }
  lines.push('', 'Run `vfio-uapi <command> --help` for the options of one command.');
  if (missing) lines.push(`Not installed: ${TOOLS_HINT}.`);
  return lines.join('\n');
}

/**
 * Runs one command line. `loaders` is the command table, by default every command found beside this file;
 * a bundle, which has no cli/commands/ folder to list, passes the commands it holds.
 */
export async function main(argv: string[], loaders: Record<string, CommandLoader> = commands()): Promise<number> {
  guardStdout();
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help(loaders));
    return name ? EXIT.ok : EXIT.usage;
  }
  const load = Object.hasOwn(loaders, name) ? loaders[name] : undefined;
  if (!load) {
    console.error(`vfio-uapi: unknown command ${oneLine(JSON.stringify(name))}; run \`vfio-uapi --help\` for the list`);
    return EXIT.usage;
  }
  let cmd: Command;
  try {
    cmd = (await load()).default;
  } catch (error) {
    if (!toolsMissing(error)) throw error;
    console.error(`vfio-uapi ${name}: ${TOOLS_HINT}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${cmd.usage}\n\n${cmd.summary}`);
    return EXIT.ok;
  }
  try {
    return finishCommand(name, await cmd.run(rest));
  } catch (e) {
    const err = e as Error & { problems?: unknown };
    console.error(`vfio-uapi ${name}: ${oneLine(String(err?.message ?? err))}`);
    if (process.env.VFIO_UAPI_DEBUG) console.error(err.stack);
    return finishCommand(name, EXIT.failure);
  }
}
