/** One-call save and load for embedders: open a session and an endpoint, run, close both. */
import type { Device } from './device/device.js';
import { MigrationSession, type SessionOptions } from './migration/session.js';
import type { DeviceOutcome } from './migration/outcome.js';
import type { SessionReport } from './migration/report.js';
import { openSink, openSource, type Endpoint } from './stream/endpoints.js';
import { saveToEndpoint, type SaveToOptions, type SaveToResult } from './stream/file.js';
import { checkSaveStart } from './stream/save.js';
import { loadStream, type LoadOptions, type LoadResult } from './stream/load.js';

/**
 * `to`: a path (written atomically), `-`, `fd:N` or `unix:/path` (see openSink), or an endpoint the caller
 * opened and closes. `connectTimeoutMs`, `ioTimeoutMs` and `signal` bound and stop the transfer (limits.ts).
 */
export async function saveDevice(
  device: Device,
  to: string | Endpoint,
  opts: SaveToOptions & { session?: SessionOptions } = {},
): Promise<SaveToResult & { report: SessionReport; outcome: DeviceOutcome[] }> {
  const session = MigrationSession.open(device, { ...opts.session, role: 'source' });
  // A device that cannot start a save is refused before the output is created or truncated.
  try {
    checkSaveStart(session);
  } catch (e) {
    session.close();
    throw e;
  }
  let out: Endpoint;
  try {
    out = typeof to === 'string' ? openSink(to, opts) : borrowed(to);
  } catch (e) {
    session.close();
    throw e;
  }
  try {
    const r = await saveToEndpoint(session, out, opts);
    return { ...r, report: session.report, outcome: [session.outcome('completed')] };
  } finally {
    session.close();
    out.close();
  }
}

/** `from`: a path, `-`, `fd:N` or `unix:/path` (see openSource), or an endpoint the caller opened and closes. */
export async function loadDevice(
  device: Device,
  from: string | Endpoint,
  opts: LoadOptions & { session?: SessionOptions } = {},
): Promise<LoadResult & { report: SessionReport; outcome: DeviceOutcome[] }> {
  const source = typeof from === 'string' ? openSource(from, opts) : borrowed(from);
  const session = MigrationSession.open(device, { ...opts.session, role: 'destination' });
  try {
    const r = await loadStream(session, source, opts);
    return { ...r, report: session.report, outcome: [session.outcome('completed')] };
  } finally {
    session.close();
    source.close();
  }
}

/** An endpoint used but not closed here (its owner closes it). */
function borrowed(e: Endpoint): Endpoint {
  return {
    get fd() {
      return e.fd;
    },
    name: e.name,
    seekable: e.seekable,
    size: e.size,
    ...(e.mode ? { mode: e.mode } : {}),
    ...(e.accept ? { accept: () => e.accept!() } : {}),
    ...(e.commit ? { commit: () => e.commit!() } : {}),
    close() {},
  };
}
