/**
 * The fork trap: a process spawned after the emulator started inherits its seccomp filter, and a filter with a
 * listener cannot be installed under it. The child must fail fast with an error that says so, exit instead of
 * hanging, and meanwhile its own syscalls must pass through the parent's supervisor untouched.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmulator, type EmulatorHandle } from '../../runtime/emulator/index.js';
import { openViaGroup } from './raw.js';

const fixture = fileURLToPath(new URL('./fixtures/child-of-emulator.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const HANG_MS = 15_000;

let emu: EmulatorHandle;
let deviceFd: number;
beforeAll(async () => {
  emu = await startEmulator({ devices: [{ personality: 'mtty' }] });
  const d = emu.devices[0]!;
  deviceFd = openViaGroup(emu.containerPath, d.groupPath, d.groupDeviceName).device as number;
});
afterAll(() => emu.stop());

function runChild(): Promise<{
  code: number | null;
  signal: string | null;
  ms: number;
  stdout: string;
  stderr: string;
}> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, String(deviceFd)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: performance.now() - started, stdout, stderr });
    }),
  );
}

it('a child spawned after the emulator started fails fast with a clear error and exits', async () => {
  expect(deviceFd).toBeGreaterThanOrEqual(1000);
  const r = await runChild();
  expect(r.signal, `the child hung; stderr: ${r.stderr}`).toBeNull();
  expect(r.code, r.stderr).toBe(0);
  const seen = JSON.parse(r.stdout);
  expect(seen.startError).toMatch(/inherited an emulator's seccomp filter from its parent/);
  expect(seen.startError).toMatch(/start the emulator before spawning, or spawn from a process without one/);
  // The parent's supervisor leaves the child's syscalls alone: its fd 1000+ is its own file, not our device.
  expect(seen).toMatchObject({ readOnParentFdNumber: 8, readZeros: true, vfioIoctlOnDevNull: 'ENOTTY' });
  // The parent's emulator still works.
  expect((await emu.snapshot(0)).state).toBe('RUNNING');
});
