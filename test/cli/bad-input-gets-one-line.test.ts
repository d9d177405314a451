/**
 * Bad input to the device commands: one clear line on stderr and the documented non-zero exit code.
 * Each case is a real `vfio-uapi` process (the emulator lives per process).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../runtime/helpers.js';
import { AS_NOBODY } from '../unprivileged.js';

const bin = fileURLToPath(new URL('../../packages/vfio-uapi/bin/vfio-uapi.js', import.meta.url));
const tmp = tempDir();

function run(args: string[], opts: { asNobody?: boolean; input?: Buffer } = {}) {
  const argv = opts.asNobody ? [...AS_NOBODY, process.execPath, bin, ...args] : [process.execPath, bin, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 60000, input: opts.input });
  return { code: r.status, stderr: r.stderr.trim(), stdout: r.stdout.trim() };
}

beforeAll(() => {
  // A good file from mtty for the truncation and mismatch cases.
  const r = run(['save', 'emulated:mtty', tmp.file('mtty.vfio'), '--quiet']);
  expect(r.code).toBe(0);
  const good = readFileSync(tmp.file('mtty.vfio'));
  writeFileSync(tmp.file('truncated.vfio'), good.subarray(0, good.length - 30));
  copyFileSync('/etc/hostname', tmp.file('foreign.vfio'));
  writeFileSync(tmp.file('secret'), 'x');
  chmodSync(tmp.file('secret'), 0o600);
  chmodSync(tmp.dir, 0o755);
});
afterAll(() => tmp.remove());

const cases: [string, () => string[], number, RegExp, { asNobody?: boolean }?][] = [
  ['missing path', () => ['info', '/dev/vfio/devices/vfio999'], 3, /does not exist/],
  ['not a VFIO device', () => ['info', '/dev/null'], 3, /is not a VFIO device/],
  ['permission denied', () => ['info', tmp.file('secret')], 3, /permission denied/, { asNobody: true }],
  ['group without a device name', () => ['info', '/dev/vfio/7'], 2, /name the device too/],
  ['unknown personality', () => ['info', 'emulated:nvme'], 2, /unknown emulated personality "nvme"/],
  ['unknown quirk', () => ['info', 'emulated:mtty+sometimes'], 2, /unknown quirk "sometimes"/],
  [
    'unwritable output path',
    () => ['save', 'emulated:mtty', '/nonexistent-dir/x.vfio', '--quiet'],
    7,
    /cannot write .*directory does not exist/,
  ],
  [
    'unreadable input path',
    () => ['load', 'emulated:mtty', tmp.file('nope.vfio'), '--quiet'],
    7,
    /cannot read .*does not exist/,
  ],
  ['truncated input', () => ['load', 'emulated:mtty', tmp.file('truncated.vfio'), '--quiet'], 6, /truncated/],
  [
    'foreign input',
    () => ['load', 'emulated:mtty', tmp.file('foreign.vfio'), '--quiet'],
    6,
    /not a vfio-uapi state file.*--raw/,
  ],
  [
    'state saved from another device kind',
    () => ['load', 'emulated:mlx5', tmp.file('mtty.vfio'), '--quiet'],
    6,
    /saved from .*emulated:mtty|migration flags/,
  ],
  [
    'wrong state (STOP_COPY -> PRE_COPY)',
    () => ['save', 'emulated:mtty', tmp.file('w.vfio'), '--quiet', '--final-state', 'PRE_COPY'],
    5,
    /refused STOP_COPY -> PRE_COPY/,
  ],
  [
    'bad --mode',
    () => ['save', 'emulated:mtty', tmp.file('m.vfio'), '--mode', 'fast'],
    2,
    /--mode must be stepwise, direct or qemu/,
  ],
  [
    'device without migration',
    () => ['save', 'emulated:nomig', tmp.file('n.vfio'), '--quiet'],
    4,
    /emulated:nomig does not support migration/,
  ],
  ['bad --size', () => ['info', 'emulated:mlx5', '--size', 'lots'], 2, /is not a size/],
  ['missing arguments', () => ['load', 'emulated:mtty'], 2, /give DEVICE and INPUT/],
];

describe.each(cases)('%s', (_name, args, code, pattern, opts) => {
  it(`exits ${code} with one line`, () => {
    const r = run(args(), opts);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
    expect(r.code).toBe(code);
  });
});

it('--json reports the error as one JSON object with kind and errno', () => {
  const r = run(['info', '/dev/null', '--json']);
  expect(r.code).toBe(3);
  expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, kind: 'not-vfio', errnoName: 'ENOTTY' });
});

it('--help documents the exit codes', () => {
  const r = run(['save', '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/exit codes:/);
});
