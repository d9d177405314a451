/** `audit` issues what the rules forbid and records kernel vs spec; quirky devices show up in the report. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MigrationSession, openDevices, saveStream, type Device } from '../../runtime/index.js';
import { openFdCount } from './helpers.js';

const specs = [
  'emulated:mlx5',
  'emulated:mlx5+precopy-info-in-stop-copy',
  'emulated:mtty+enomsg-in-stop-copy',
  'emulated:mlx5+no-precopy-info',
  'emulated:mlx5+interior-fd',
];
let d: Device[] = [];
beforeAll(async () => {
  d = await openDevices(specs, { stateSize: 1 << 20 });
});
afterAll(async () => {
  for (const x of d) await x.close();
});

const nullSink = { write() {} };

it('audit mode issues STOP_COPY -> PRE_COPY and records what the device did against the spec', () => {
  const s = MigrationSession.open(d[0]!, { guard: 'audit' });
  s.moveTo('STOP_COPY');
  expect(() => s.moveTo('PRE_COPY')).toThrow();
  expect(s.report.audit[0]).toMatchObject({
    rule: 'mig.state.set.forbidden',
    state: 'STOP_COPY',
    spec: 'refuse with EINVAL',
  });
  expect(s.report.refused).toHaveLength(0);
  s.close();
});

it('precopy-info-in-stop-copy: the device answers where the spec says EINVAL', () => {
  const s = MigrationSession.open(d[1]!, { guard: 'audit' });
  s.moveTo('STOP_COPY');
  expect(typeof s.queryPrecopyInfo()).toBe('object');
  expect(s.report.audit).toContainEqual(
    expect.objectContaining({ rule: 'precopy.valid_states', state: 'STOP_COPY', spec: 'EINVAL', kernel: 'answered' }),
  );
  s.moveTo('RUNNING');
  s.close();
});

it('enomsg-in-stop-copy: the save still completes and the violation is recorded', async () => {
  const s = MigrationSession.open(d[2]!, { guard: 'audit' });
  const r = await saveStream(s, nullSink, { finalState: 'RUNNING' });
  expect(r.stopCopyBytes).toBeGreaterThan(0);
  expect(s.report.audit).toContainEqual(expect.objectContaining({ rule: 'stream.eof', kernel: 'ENOMSG' }));
  s.close();
});

it('no-precopy-info: a PRE_COPY device that does not answer is recorded as breaking precopy.mandatory', async () => {
  const s = MigrationSession.open(d[3]!, { guard: 'audit' });
  const r = await saveStream(s, nullSink, { finalState: 'RUNNING' });
  expect(r.rounds).toBe(1);
  expect(r.decisions[0]!.reason).toContain('no PRECOPY_INFO');
  expect(s.report.audit).toContainEqual(expect.objectContaining({ rule: 'precopy.mandatory' }));
  s.close();
});

it('interior-fd: an fd handed out by a multi-arc request is recorded and closed, never leaked', () => {
  const fds = openFdCount();
  const s = MigrationSession.open(d[4]!, { guard: 'audit', mode: 'direct' });
  s.moveTo('STOP'); // RUNNING -> RUNNING_P2P -> STOP: no arc opens an fd
  expect(s.report.audit).toContainEqual(expect.objectContaining({ rule: 'mig.state.set.fd', spec: 'data_fd = -1' }));
  expect(s.dataFd).toBe(-1);
  s.moveTo('RUNNING');
  s.close();
  expect(openFdCount()).toBe(fds);
});
