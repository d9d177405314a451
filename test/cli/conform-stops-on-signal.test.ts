/**
 * `vfio-uapi conform` stopped by SIGINT or SIGTERM ends after the check in progress (which resets the device),
 * exits 130/143 with one line saying how far it got, and removes its emulator folder. A file of its own: a
 * process that started an emulator cannot spawn one that starts another (the seccomp listener is taken).
 */
import { expect, it } from 'vitest';
import { emulatorFolders, hasStackTrace, runCli } from './run-cli.js';

it.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)('vfio-uapi conform stopped by %s: exit %i, one line, no emulator folder left', async (signal, code) => {
  let pid = 0;
  const r = await runCli(['conform', 'emulated:mtty'], {
    onSpawn: (child) => {
      pid = child.pid!;
      let sent = false;
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        // The header line and two results: the run is under way.
        if (!sent && out.split('\n').length > 3) {
          sent = true;
          child.kill(signal);
        }
      });
    },
  });
  expect(hasStackTrace(r.stderr)).toBe(false);
  expect(r.stderr.trim()).toMatch(
    new RegExp(
      `^vfio-uapi conform: stopped by ${signal} after \\d+ of \\d+ rules; the device was reset after the last check \\(RUNNING\\)$`,
    ),
  );
  expect(r.code).toBe(code);
  expect(emulatorFolders(pid)).toEqual([]);
});
