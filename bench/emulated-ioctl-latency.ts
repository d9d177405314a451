/**
 * Cost of one emulated ioctl round trip (trap → supervisor → answer), next to a bare kernel ioctl.
 * Cases run interleaved in rounds; medians in ns per call.
 *
 *   node --import tsx bench/emulated-ioctl-latency.ts [--calls 20000] [--rounds 7]
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { DemoIoctl } from '../test/emulator-mechanism/fixtures/demo-handler.js';
import { startSupervisor } from '../runtime/emulator/seccomp/supervisor.js';
import { close, ioctl } from '../runtime/sys/libc.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const calls = flag('--calls', 20000);
const rounds = flag('--rounds', 7);

const supervisor = await startSupervisor(
  new URL('../test/emulator-mechanism/fixtures/demo-handler.ts', import.meta.url),
);
const group = openSync(join(supervisor.placeholderDir, 'demo-group'), 'r+');
const device = ioctl(group, DemoIoctl.GET_DEVICE_FD, 0);
const devNull = openSync('/dev/null', 'r+');
const info = Buffer.alloc(24);
info.writeUInt32LE(24, 0);

const cases: Record<string, () => number> = {
  'untrapped ioctl on /dev/null (TCGETS, ENOTTY)': () => ioctl(devNull, 0x5401, info),
  // A ';' ioctl is trapped whatever the fd; not a placeholder, so the supervisor answers CONTINUE.
  'trapped ioctl on /dev/null, CONTINUE to the kernel': () => ioctl(devNull, 0x3b6b, info),
  'emulated GET_INFO on an installed device fd': () => ioctl(device, DemoIoctl.GET_INFO, info),
  'emulated GET_INFO on a placeholder fd (+ /proc readlink)': () => ioctl(group, DemoIoctl.GET_INFO, info),
};
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
const names = Object.keys(cases);
for (let r = -1; r < rounds; r++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + Math.max(r, 0)) % names.length]!;
    const fn = cases[name]!;
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn();
    const ns = Number(process.hrtime.bigint() - start) / calls;
    if (r >= 0) samples[name]!.push(ns); // round -1 is warm-up
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`ioctl round trips, ${calls} calls x ${rounds} rounds (median ns/call)`);
for (const name of names) console.log(`  ${name.padEnd(58)} ${median(samples[name]!).toFixed(0).padStart(7)} ns`);
close(device);
closeSync(group);
closeSync(devNull);
await supervisor.stop();
