// Boots one throw-away guest under QEMU (TCG), captures its console and kills it on a host-side timeout.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostRootTag, resultsTag } from './initramfs.js';

export interface GuestBoot {
  kernel: string;
  initramfs: string;
  /** Extra kernel command line words. */
  append: string[];
  /** Writable directory shared with the guest for results. */
  share: string;
  cpus: number;
  /** Extra QEMU arguments (machine devices). */
  devices: string[];
  timeoutSeconds: number;
  consoleLog: string;
}

export interface GuestOutcome {
  console: string;
  timedOut: boolean;
  exitCode: number | null;
  seconds: number;
}

/**
 * The x86-64-v2 feature level (qemu64 plus SSSE3, SSE4.1, SSE4.2, POPCNT) rather than `max`: under TCG, node
 * starts faster in the guest when glibc and V8 cannot pick their AVX/AVX2 paths, which QEMU 7.2 emulates more
 * slowly (`vfio-uapi info` in the cdev guest, median of 5: 1.36-1.60 s against 1.69-1.78 s with max). Not
 * plain qemu64: koffi's prebuilt library uses POPCNT (SIGILL without it). Nothing the checks look at depends
 * on the CPU model; an AMD vendor (as qemu64 has) also keeps the guests free of the Meltdown page-table switch.
 * RDRAND (QEMU's TCG implements it from the host's random source) lets the kernel seed its CRNG at boot: without
 * it the first getrandom() in the guest, node's own at start, waited ~1 s for jitter entropy (cdev guest, node
 * loading the checks 4.1-4.3 s without, 3.2-3.3 s with).
 */
export const guestCpu = 'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+rdrand';

export function bootGuest(boot: GuestBoot): Promise<GuestOutcome> {
  const args = [
    ...['-machine', 'q35,accel=tcg', '-cpu', guestCpu, '-smp', String(boot.cpus), '-m', '1024'],
    ...['-kernel', boot.kernel, '-initrd', boot.initramfs],
    ...['-append', ['console=ttyS0', 'panic=-1', ...boot.append].join(' ')],
    ...['-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio', '-monitor', 'none'],
    '-virtfs',
    `local,path=/,mount_tag=${hostRootTag},security_model=none,readonly=on,multidevs=remap`,
    '-virtfs',
    `local,path=${boot.share},mount_tag=${resultsTag},security_model=none`,
    ...boot.devices,
  ];
  const started = Date.now();
  return new Promise((resolve) => {
    const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let console = '';
    qemu.stdout.on('data', (chunk: Buffer) => (console += chunk.toString()));
    qemu.stderr.on('data', (chunk: Buffer) => (console += chunk.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      qemu.kill('SIGKILL');
    }, boot.timeoutSeconds * 1000);
    let finished = false;
    const finish = (exitCode: number | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      writeFileSync(boot.consoleLog, console);
      resolve({ console, timedOut, exitCode, seconds: (Date.now() - started) / 1000 });
    };
    // 'close' (not 'exit') so the console pipe is fully read first.
    qemu.on('close', (code) => finish(code));
    qemu.on('error', (error) => {
      console += `\nqemu failed to start: ${error.message}\n`;
      finish(null);
    });
  });
}
