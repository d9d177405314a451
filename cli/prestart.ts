/**
 * A device command whose command line names an emulated device starts the emulator's supervisor thread before
 * it loads the rest of what it needs: the thread's boot (~0.1 s: its own isolate, koffi and its modules) then
 * runs beside that loading on another core instead of after it. Nothing is trapped until the device is opened;
 * if the command ends first (bad usage), the process exits once the thread has booted.
 */
export function prestartEmulator(args: readonly string[]): void {
  if (!args.some((a) => a.startsWith('emulated:'))) return;
  void import('../runtime/emulator/seccomp/supervisor.js').then(
    (m) => m.prepareSupervisor(),
    () => {}, // the open that follows reports a missing or broken emulator
  );
}
