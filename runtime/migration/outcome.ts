/**
 * Where each device of a save, load or migration ended, and what was done to get it there. Every result and
 * every error of those operations carries one entry per device (PROTOCOL.md): the caller never has to guess
 * whether a device runs, runs a damaged state, or was reset.
 */

/** `device` for a session that neither saved nor resumed yet (a plain MigrationSession). */
export type DeviceRole = 'source' | 'destination' | 'device';

export type DeviceAction =
  /** It did its part: a source stopped once its stream was taken, a destination in its requested final state. */
  | 'completed'
  /** No state change reached the device (refused before any SET, or never started). */
  | 'untouched'
  /** Moved back with SET to the state it started in (a source that is running its workload again). */
  | 'returned'
  /** VFIO_DEVICE_RESET: the device is RUNNING and whatever it received in RESUMING was discarded. */
  | 'reset'
  /** Another process owned it and ended without saying (killed); its state is not known here. */
  | 'unknown';

export interface DeviceOutcome {
  role: DeviceRole;
  /** How the device was named (a path, `emulated:…`). */
  device: string;
  /** The migration state it ended in, as GET reported it; null when it could not be read or is not known. */
  state: string | null;
  action: DeviceAction;
  /** One more fact for people, e.g. why the state is unknown. */
  detail?: string;
}

/** One device's outcome in words: `destination emulated:mtty reset (what it received is discarded), now RUNNING`. */
export function describeDevice(o: DeviceOutcome): string {
  const who = `${o.role} ${o.device}`;
  const now = o.state ? `, now ${o.state}` : o.action === 'unknown' ? '' : ', state unknown';
  const detail = o.detail ? ` (${o.detail})` : '';
  switch (o.action) {
    case 'completed':
      return `${who} completed${detail}${now}`;
    case 'untouched':
      return `${who} untouched${detail}${now}`;
    case 'returned':
      return `${who} ${o.role === 'source' ? 'resumed' : 'returned to its start state'}${detail}${now}`;
    case 'reset':
      return `${who} reset (${o.role === 'destination' ? 'what it received is discarded' : 'VFIO_DEVICE_RESET'})${detail}${now}`;
    case 'unknown':
      return `${who}: state unknown${detail}`;
  }
}

/** Every device's outcome, for the one line a person reads. */
export function describeOutcome(list: readonly DeviceOutcome[]): string {
  return list.map(describeDevice).join('; ');
}
