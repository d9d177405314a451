/**
 * `vfio-uapi check --kernel-table FILE [--kernel R]`: tables are read with a size bound and every field is
 * validated against the spec; bad input gives one line and exit 2, never a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpec, REPO_ROOT } from '../../generator/ir/load.js';
import {
  fsmFacts,
  KernelTableInputError,
  parseKernelTable,
  readKernelTableFile,
  type FsmFacts,
} from '../../generator/fsm/kernel-table.js';

const FIXTURE = join(REPO_ROOT, 'test/fixtures/kernel-facts/vfio-fsm-table.json');
const good = () => JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, Record<string, unknown>>;
let facts: FsmFacts;
const dir = mkdtempSync(join(tmpdir(), 'vfio-uapi-kt-'));
beforeAll(async () => {
  facts = fsmFacts(await loadSpec(undefined, { docs: false }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'packages/vfio-uapi/bin/vfio-uapi.js'), 'check', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 30000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('every field is validated against the spec', () => {
  const cases: [string, (t: ReturnType<typeof good>) => unknown, RegExp][] = [
    [
      'unknown capability flag',
      (t) => ({ ...t, capabilityFlags: { ...t.capabilityFlags, P3P: 8 } }),
      /^capabilityFlags: "P3P" is not a capability flag of the spec \(STOP_COPY, P2P, PRE_COPY\)$/,
    ],
    [
      'a flag with the wrong bit',
      (t) => ({ ...t, capabilityFlags: { ...t.capabilityFlags, P2P: 4 } }),
      /^capabilityFlags\.P2P is 4, but the uAPI's value is 2$/,
    ],
    [
      'unknown flag in requires',
      (t) => ({ ...t, requires: { ...t.requires, RUNNING_P2P: ['STOP_COPY', 'P3P'] } }),
      /^requires\.RUNNING_P2P: "P3P" is not a capability flag/,
    ],
    [
      'a requires mask with unknown bits',
      (t) => ({ ...t, requires: { ...t.requires, STOP: 64 } }),
      /^requires\.STOP: mask 0x40 has bits that are not capability flags/,
    ],
    [
      'a requires value of the wrong type',
      (t) => ({ ...t, requires: { ...t.requires, STOP: 'SOME' } }),
      /^requires\.STOP must be/,
    ],
    [
      'an extra state in states',
      (t) => ({ ...t, states: [...(t.states as unknown as string[]), 'PAUSED'] }),
      /^states: "PAUSED" is not a state of the spec/,
    ],
    [
      'an extra state row in next',
      (t) => ({ ...t, next: { ...t.next, PAUSED: {} } }),
      /^next: "PAUSED" is not a state/,
    ],
    [
      'an unknown next state',
      (t) => ({ ...t, next: { ...t.next, STOP: { ...(t.next!.STOP as object), RUNNING: 'PAUSED' } } }),
      /^next\.STOP\.RUNNING: "PAUSED" is not a state/,
    ],
    ['an unknown key', (t) => ({ ...t, nxt: {} }), /^unknown key "nxt"/],
    ['not an object', () => [1, 2], /JSON object with "next"/],
  ];
  it.each(cases)('%s', (_name, edit, message) => {
    let err: unknown;
    try {
      parseKernelTable(edit(good()), facts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelTableInputError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  it('accepts the kernel table, the example and the generated table', () => {
    expect(() => parseKernelTable(good(), facts)).not.toThrow();
    for (const p of ['examples/kernel-table-loop/kernel-table.json', 'generated/fsm-kernel-table.json'])
      expect(() => readKernelTableFile(join(REPO_ROOT, p), facts)).not.toThrow();
  });

  it('reads at most the size bound: /dev/zero fails at once', () => {
    // It stops after the bound: an unbounded read of /dev/zero never ends (it ended in std::bad_alloc).
    expect(() => readKernelTableFile('/dev/zero', facts, 4096)).toThrow(
      /^\/dev\/zero: more than 4 KiB; a kernel table is a few kB of JSON/,
    );
  });
});

describe('the command', () => {
  const write = (name: string, v: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof v === 'string' ? v : JSON.stringify(v));
    return p;
  };

  it('bad tables and files: one line on stderr, exit 2, no stack trace', () => {
    const cases: [string[], RegExp][] = [
      [['--kernel-table', '/dev/zero'], /^vfio-uapi check: \/dev\/zero: more than 1024 KiB/],
      [['--kernel-table', dir], /is a directory/],
      [['--kernel-table', join(dir, 'nope.json')], /nope\.json: does not exist/],
      [['--kernel-table', write('bad.json', '{"next": ')], /bad\.json: not JSON/],
      [
        ['--kernel-table', write('flags.json', { ...good(), capabilityFlags: { P3P: 8 } })],
        /flags\.json: capabilityFlags: "P3P" is not a capability flag of the spec/,
      ],
      [['--kernel-table', FIXTURE, '--kernel', 'linux'], /--kernel "linux" is not a kernel release/],
      [['--kernel-table', FIXTURE, '--kernel', '5.10'], /--kernel 5\.10: .* start with 6\.2/],
      [['--kernel', '7.2'], /--kernel picks the step algorithm for --kernel-table/],
    ];
    for (const [args, message] of cases) {
      const r = cli(args);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('--kernel picks the algorithm: 6.12.95 loops (exit 1), 6.12.96 is clean (exit 0); both by default', () => {
    const old = cli(['--kernel-table', FIXTURE, '--kernel', '6.12.95', '--json']);
    expect(old.code).toBe(1);
    const o = JSON.parse(old.stdout) as { results: { algorithm: string; findings: { problem: string }[] }[] };
    expect(o.results.map((r) => [r.algorithm, r.findings.map((f) => f.problem)])).toEqual([
      ['original', ['non-termination', 'non-termination', 'non-termination']],
    ]);
    const fixed = cli(['--kernel-table', FIXTURE, '--kernel', '6.12.96']);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toMatch(/since a26b499b757c .* every request of STOP_COPY, .* gets the spec's path/);
    const both = cli(['--kernel-table', FIXTURE]);
    expect(both.code).toBe(1);
    expect(both.stdout).toMatch(/before a26b499b757c \(6\.2 to 7\.1, except 6\.12\.96 and later in 6\.12\): 3 problem/);
    expect(both.stdout).toMatch(/since a26b499b757c/);
  });
});
