/**
 * A conformance run asked to stop through the API's AbortSignal ends after the check in progress: that check
 * resets the device, so it is left RUNNING with no data fd open (the command: test/cli/conform-stops-on-signal).
 */
import { afterAll, expect, it } from 'vitest';
import { generatedSpecData, runConformance } from '../../runtime/conformance/index.js';
import { isVfioError } from '../../runtime/errors.js';
import { openEmulated } from './helpers.js';

const devices = await openEmulated(['emulated:mlx5']);
afterAll(async () => {
  for (const d of devices) await d.close();
});

it('an aborted run throws a cancellation after the check in progress; the device is left RUNNING', async () => {
  const device = devices[0]!;
  const stop = new AbortController();
  const judged: string[] = [];
  const run = runConformance({
    deviceFd: device.fd,
    device: device.id.spec,
    spec: generatedSpecData(),
    options: { emulated: true },
    signal: stop.signal,
    onResult: (r) => {
      judged.push(r.rule);
      if (judged.length === 3) stop.abort('SIGINT');
    },
  });
  const error = await run.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isVfioError(error) && error.kind).toBe('cancelled');
  const total = Object.keys(generatedSpecData().rules).length + 1; // + the struct-argsz rule
  expect((error as Error).message).toBe(
    `stopped by SIGINT after 3 of ${total} rules; the device was reset after the last check (RUNNING)`,
  );
  expect(judged).toHaveLength(3);
  expect(device.getStateRaw()).toEqual({ ok: true, state: 'RUNNING' });
  // The device still works: the state rules judged afterwards all pass.
  const again = await runConformance({
    deviceFd: device.fd,
    device: device.id.spec,
    spec: generatedSpecData(),
    options: { emulated: true },
    only: ['mig.state'],
  });
  expect(again.summary.fail).toBe(0);
});
