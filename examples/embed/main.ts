/**
 * Embedding the runtime in another tool: open a device, look at it, migrate it into a second one with
 * your own progress handling and error policy. Errors are typed (VfioError: kind, op, state, errno, rule).
 *   node --import tsx examples/embed/main.ts
 */
import { isVfioError, migrate, MigrationSession, openDevices } from 'vfio-uapi';

const [source, destination] = await openDevices(['emulated:mlx5', 'emulated:mlx5'], { stateSize: 4 << 20 });
try {
  const caps = source!.requireMigration();
  console.log(
    `source: ${caps.capsKey}, state ${source!.state()}, features ${source!.features().filter((f) => f.present).length}`,
  );

  // The guard in action: a forbidden request is refused with its rule, before any syscall.
  const probe = MigrationSession.open(source!);
  probe.moveTo('STOP_COPY');
  try {
    probe.moveTo('PRE_COPY');
  } catch (e) {
    if (isVfioError(e, 'refused')) console.log(`refused as expected [${e.rule}]: ${e.message}`);
  }
  probe.moveTo('RUNNING');
  probe.close();

  const r = await migrate(source!, destination!, {
    session: { mode: 'direct' },
    onProgress: (p) => p.done && console.log(`  ${p.phase}: ${p.phaseBytes} bytes`),
  });
  console.log(`migrated ${r.totalBytes} bytes; stop-copy ${r.stopCopyBytes}; verified: ${r.verification.equal}`);
} catch (e) {
  if (isVfioError(e))
    console.error(`${e.kind} during ${e.op} (${e.state ?? '-'}, ${e.errnoName ?? 'no errno'}): ${e.message}`);
  process.exitCode = 1;
} finally {
  await source!.close();
  await destination!.close();
}
