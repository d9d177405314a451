/** Where a spec item was declared, so checks can point a person at the right line. */
export interface Site {
  file: string;
  line: number;
}

const here = new URL('.', import.meta.url).pathname;

/**
 * The first stack frame outside spec/dsl: the spec line that called a builder.
 * tsx maps stack traces back to TypeScript lines, so this is the line a person edits.
 */
export function callSite(): Site {
  // Builders sit at most a few frames deep; a short stack keeps source-mapped capture cheap.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 8;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  for (const raw of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?$/.exec(raw.trim());
    if (!m) continue;
    const file = m[1]!.replace(/^file:\/\//, '');
    if (file.startsWith(here)) continue;
    return { file, line: Number(m[2]) };
  }
  return { file: '<unknown>', line: 0 };
}
