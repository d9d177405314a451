import { readdirSync } from 'node:fs';

/**
 * The `vfio-uapi` command line. Each command lives in cli/commands/<name>.ts and is loaded only when
 * used, so `vfio-uapi check` never pays for koffi and `vfio-uapi save` never pays for ts-morph.
 * This folder sits above both the generator and the runtime: it is the one place that may import either.
 */

import type { Command } from './command.js';

export type { Command };

const commandsDir = new URL('./commands/', import.meta.url).pathname;

/** Command name → loader. Each file cli/commands/<name>.ts default-exports a Command; adding one touches nothing else. */
function commands(): Record<string, () => Promise<{ default: Command }>> {
  const out: Record<string, () => Promise<{ default: Command }>> = {};
  for (const f of readdirSync(commandsDir).sort()) {
    if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
    const name = f.slice(0, -3);
    out[name] = () => import(commandsDir + f);
  }
  return out;
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

async function help(): Promise<string> {
  const lines = ['usage: vfio-uapi <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(commands())) {
    const c = (await load()).default;
    lines.push(`  ${name.padEnd(13)} ${c.summary}`);
  }
  lines.push('', 'Run `vfio-uapi <command> --help` for the options of one command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return name ? EXIT.ok : EXIT.usage;
  }
  const load = commands()[name];
  if (!load) {
    console.error(`vfio-uapi: unknown command "${name}"; run \`vfio-uapi --help\` for the list`);
    return EXIT.usage;
  }
  const cmd = (await load()).default;
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${cmd.usage}\n\n${cmd.summary}`);
    return EXIT.ok;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    const err = e as Error & { problems?: unknown };
    console.error(`vfio-uapi ${name}: ${err.message}`);
    if (process.env.VFIO_UAPI_DEBUG) console.error(err.stack);
    return EXIT.failure;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
