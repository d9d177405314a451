/**
 * `emulated:PERSONALITY[+QUIRK…]` device strings: start the in-process emulator (one per process, with all
 * its devices given at start) and hand back the placeholder paths of each device.
 */
import type { EmulatedDeviceOptions, EmulatorHandle } from '../emulator/api.js';
import { parseEmulatedSpec } from '../emulator/api.js';
import { VfioError } from '../errors.js';

export interface EmulatorStartOptions {
  /** Device state size for personalities that take one (mlx5), in bytes. */
  stateSize?: number;
  /** Seed of the first device; later devices get seed+1, seed+2… so source and destination start different. */
  seed?: number;
}

interface StartEmulator {
  (options: { devices: EmulatedDeviceOptions[] }): Promise<EmulatorHandle>;
}

let running: { handle: EmulatorHandle; claimed: boolean[] } | null = null;

/** Parse a device string; null if it is not `emulated:…`. Unknown names become a usage error. */
export function parseEmulated(spec: string): EmulatedDeviceOptions | null {
  try {
    return parseEmulatedSpec(spec);
  } catch (e) {
    throw new VfioError((e as Error).message, { kind: 'usage', op: `open ${spec}`, fdKind: 'path' });
  }
}

/** Start the emulator with these devices; fails if this process already started one. */
export async function startEmulated(
  specs: EmulatedDeviceOptions[],
  opts: EmulatorStartOptions = {},
): Promise<EmulatorHandle> {
  if (running)
    throw new VfioError('an emulator is already running in this process; open all emulated devices together', {
      kind: 'usage',
      op: 'start emulator',
      fdKind: 'path',
      hint: 'use openDevices([...]) with every emulated device at once',
    });
  let start: StartEmulator;
  try {
    const mod = (await import('../emulator/index.js' as string)) as { startEmulator: StartEmulator };
    start = mod.startEmulator;
  } catch (e) {
    throw new VfioError(`the emulator could not be loaded: ${(e as Error).message}`, {
      kind: 'kernel',
      op: 'start emulator',
      fdKind: 'path',
      cause: e,
    });
  }
  const seed = opts.seed ?? 1;
  const devices = specs.map((s, i) => ({
    ...s,
    seed: s.seed ?? seed + i,
    ...(opts.stateSize !== undefined && s.stateSize === undefined ? { stateSize: opts.stateSize } : {}),
  }));
  const handle = await start({ devices });
  running = { handle, claimed: devices.map(() => false) };
  return handle;
}

/** The emulator this process started, if any. */
export function runningEmulator(): EmulatorHandle | null {
  return running?.handle ?? null;
}

/** Stop the emulator once no device opened from it is still open. */
export async function releaseEmulated(handle: EmulatorHandle, index: number): Promise<void> {
  if (!running || running.handle !== handle) return;
  running.claimed[index] = false;
  if (running.claimed.every((c) => !c)) {
    running = null;
    await handle.stop();
  }
}

export function claimEmulated(handle: EmulatorHandle, index: number): void {
  if (running && running.handle === handle) running.claimed[index] = true;
}
