// Reads KTAP version 1 (Documentation/dev-tools/ktap.rst) as a kernel CI would: the version line, the plan,
// result lines with their directive, and the diagnostic lines before each result. Written for the guest to judge
// `vfio-uapi conform --format ktap` by what it printed, not by a second report format.

export interface KtapResult {
  number: number;
  name: string;
  ok: boolean;
  /** SKIP, XFAIL, TODO, TIMEOUT, ERROR, or null. */
  directive: string | null;
  /** What follows the directive (or the `#` when there is none). */
  reason: string;
  /** `#` lines printed since the previous result. */
  diagnostics: string[];
}

export interface Ktap {
  version: string;
  plan: number;
  results: KtapResult[];
  totals: Record<string, number> | null;
  /** What does not fit the format (so a test can say "the output is not KTAP" with the line). */
  problems: string[];
}

const DIRECTIVES = new Set(['SKIP', 'TODO', 'XFAIL', 'TIMEOUT', 'ERROR']);

export function parseKtap(text: string): Ktap {
  const lines = text.split('\n').filter((line) => line.length);
  const problems: string[] = [];
  const version = lines[0] ?? '';
  if (!/^(KTAP version 1|TAP version 1[34])$/.test(version))
    problems.push(`first line is not a version line: ${version}`);
  const planLine = /^1\.\.(\d+)$/.exec(lines[1] ?? '');
  if (!planLine) problems.push(`second line is not a plan: ${lines[1]}`);
  const results: KtapResult[] = [];
  let diagnostics: string[] = [];
  let totals: Record<string, number> | null = null;
  for (const line of lines.slice(2)) {
    const result = /^(ok|not ok) (\d+)(?: ([^#]*?))?\s*(?:#\s*(.*))?$/.exec(line);
    if (result) {
      const [, status, number, name = '', tail = ''] = result;
      const word = tail.split(' ')[0] ?? '';
      const directive = DIRECTIVES.has(word) ? word : null;
      const reason = directive ? tail.slice(word.length).trim() : tail.trim();
      if (Number(number) !== results.length + 1) problems.push(`result ${number} out of order: ${line}`);
      results.push({ number: Number(number), name: name.trim(), ok: status === 'ok', directive, reason, diagnostics });
      diagnostics = [];
      continue;
    }
    const counted = /^# Totals: (.*)$/.exec(line);
    if (counted) {
      totals = Object.fromEntries(
        counted[1]!.split(' ').map((pair) => {
          const [key, value] = pair.split(':');
          return [key ?? '', Number(value)];
        }),
      );
      continue;
    }
    if (line.startsWith('#')) diagnostics.push(line.slice(1).trim());
    else problems.push(`not a KTAP line: ${line}`);
  }
  const plan = planLine ? Number(planLine[1]) : -1;
  if (plan !== results.length) problems.push(`plan says ${plan} results, ${results.length} printed`);
  return { version, plan, results, totals, problems };
}
