/**
 * Known-failure lists (after protobuf-es's conformance lists): a committed text file per driver naming
 * the rules it is known to break, each with the reason, so the suite can still gate regressions on it.
 *
 *     # comment
 *     stream.enomsg   mtty answers read() == 0 at the temporary end of pre-copy data, never ENOMSG
 */
import { readFileSync } from 'node:fs';

export interface KnownFailures {
  /** Where the list came from. */
  source: string;
  /** Rule id → why it is expected to fail. */
  entries: Map<string, string>;
}

export function parseKnownFailures(text: string, source: string): KnownFailures {
  const entries = new Map<string, string>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(.+)$/.exec(line);
    if (!m) throw new Error(`${source}:${i + 1}: expected "RULE-ID  reason", got "${line}"`);
    entries.set(m[1]!, m[2]!.trim());
  }
  return { source, entries };
}

export function loadKnownFailures(path: string): KnownFailures {
  return parseKnownFailures(readFileSync(path, 'utf8'), path);
}

/** The committed list for a personality or driver name (`mtty`, `hisi-acc`, `mlx5`), if there is one. */
export function knownFailuresPathFor(name: string): string {
  return new URL(`./known-failures/${name}.txt`, import.meta.url).pathname;
}
