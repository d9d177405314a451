/** One-call save and load for embedders: open a session and an endpoint, run, close both. */
import type { Device } from './device/device.js';
import { MigrationSession, type SessionOptions } from './migration/session.js';
import type { SessionReport } from './migration/report.js';
import { openSink, openSource } from './stream/endpoints.js';
import { saveToEndpoint, type SaveToOptions, type SaveToResult } from './stream/file.js';
import { loadStream, type LoadOptions, type LoadResult } from './stream/load.js';

export async function saveDevice(
  device: Device,
  to: string,
  opts: SaveToOptions & { session?: SessionOptions } = {},
): Promise<SaveToResult & { report: SessionReport }> {
  const out = openSink(to);
  const session = MigrationSession.open(device, opts.session);
  try {
    const r = await saveToEndpoint(session, out, opts);
    return { ...r, report: session.report };
  } finally {
    session.close();
    out.close();
  }
}

export async function loadDevice(
  device: Device,
  from: string,
  opts: LoadOptions & { session?: SessionOptions } = {},
): Promise<LoadResult & { report: SessionReport }> {
  const source = openSource(from);
  const session = MigrationSession.open(device, opts.session);
  try {
    const r = await loadStream(session, source, opts);
    return { ...r, report: session.report };
  } finally {
    session.close();
    source.close();
  }
}
