/**
 * Device commands naming an emulated device start the emulator's thread before loading the rest (cli/prestart.ts).
 * A command that then ends without opening the device (bad usage, an unknown personality) must still exit at
 * once: the thread started ahead does not keep the process alive, and no emulator folder is left.
 */
import { expect, it } from 'vitest';
import { emulatorFolders, hasStackTrace, runCli } from './run-cli.js';

it.each([
  [['info', 'emulated:mtty', '--bogus'], /Unknown option '--bogus'/],
  [['save', 'emulated:mtty', '/nonexistent/folder/state.vfio'], /its folder \/nonexistent\/folder does not exist/],
  [['load', 'emulated:nope', '/dev/null'], /unknown emulated personality "nope"/],
  [['conform', 'emulated:mtty', '--format', 'xml'], /--format/],
])('vfio-uapi %j ends at once with one line, the early thread unused', async (args, message) => {
  let pid = 0;
  const r = await runCli(args, { timeoutMs: 10_000, onSpawn: (child) => (pid = child.pid!) });
  expect(r.timedOut).toBe(false);
  expect(r.code).not.toBe(0);
  expect(hasStackTrace(r.stderr)).toBe(false);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(message);
  expect(emulatorFolders(pid)).toEqual([]);
});
