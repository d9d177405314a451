/** `strict` refuses what the rules forbid, naming the rule, without issuing the ioctl. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ioctlsIssued, MigrationSession, openDevices, VfioError, type Device } from '../../runtime/index.js';

let mlx5: Device;
let hisi: Device;
beforeAll(async () => {
  const d = await openDevices(['emulated:mlx5', 'emulated:hisi-acc'], { stateSize: 1 << 20 });
  mlx5 = d[0]!;
  hisi = d[1]!;
});
afterAll(async () => {
  await mlx5.close();
  await hisi.close();
});

function refusal(f: () => unknown): VfioError {
  try {
    f();
  } catch (e) {
    return e as VfioError;
  }
  throw new Error('expected a refusal');
}

it('STOP_COPY -> PRE_COPY is refused before the syscall (real 6.12 kernels spin forever on it)', () => {
  const s = MigrationSession.open(mlx5);
  s.moveTo('STOP_COPY');
  const before = ioctlsIssued();
  const e = refusal(() => s.moveTo('PRE_COPY'));
  expect(ioctlsIssued()).toBe(before);
  expect(e).toBeInstanceOf(VfioError);
  expect(e.kind).toBe('refused');
  expect(e.rule).toBe('mig.state.set.forbidden');
  expect(e.errno).toBe(0);
  expect(e.state).toBe('STOP_COPY');
  expect(e.message).toContain('STOP_COPY -> PRE_COPY is forbidden');
  expect(s.report.refused).toHaveLength(1);
  s.moveTo('RUNNING');
  s.close();
});

it('PRECOPY_INFO outside PRE_COPY is refused with the rule and the reason', () => {
  const s = MigrationSession.open(mlx5);
  s.moveTo('STOP_COPY');
  const before = ioctlsIssued();
  const e = refusal(() => s.precopyInfo());
  expect(ioctlsIssued()).toBe(before);
  expect(e.rule).toBe('precopy.valid_states');
  expect(e.message).toBe(
    'VFIO_MIG_GET_PRECOPY_INFO is only valid in PRE_COPY or PRE_COPY_P2P; the device is in STOP_COPY',
  );
  s.moveTo('RUNNING');
  s.close();
});

it('a state the device lacks (RUNNING_P2P on a device without P2P) is refused', () => {
  const s = MigrationSession.open(hisi);
  const before = ioctlsIssued();
  const e = refusal(() => s.moveTo('RUNNING_P2P'));
  expect(ioctlsIssued()).toBe(before);
  expect(e.rule).toBe('mig.state.set.invalid');
  expect(e.message).toContain('RUNNING_P2P needs STOP_COPY+P2P');
  s.close();
});

it('stepwise issues one SET and one GET per arc; direct one SET and one GET in all', () => {
  for (const mode of ['stepwise', 'direct'] as const) {
    const s = MigrationSession.open(mlx5, { mode });
    const before = ioctlsIssued();
    s.moveTo('STOP_COPY'); // RUNNING -> RUNNING_P2P -> STOP -> STOP_COPY
    const used = ioctlsIssued() - before;
    expect(used).toBe(mode === 'stepwise' ? 6 : 2);
    expect(s.dataFd).toBeGreaterThanOrEqual(0);
    s.moveTo('RUNNING');
    expect(s.dataFd).toBe(-1);
    s.close();
  }
});
