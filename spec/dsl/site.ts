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
  const stack = new Error().stack ?? '';
  for (const raw of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?$/.exec(raw.trim());
    if (!m) continue;
    const file = m[1]!.replace(/^file:\/\//, '');
    if (file.startsWith(here)) continue;
    return { file, line: Number(m[2]) };
  }
  return { file: '<unknown>', line: 0 };
}
