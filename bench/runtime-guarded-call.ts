/**
 * Cost of one guarded runtime call — MigrationSession.queryPrecopyInfo()/precopyInfo(): guard, generated
 * encode, ioctl, errno, decode — against a bare koffi ioctl with a Buffer on the same fd, and a C loop of
 * the same syscall, interleaved. The fd is /dev/null (answers ENOTTY). Runs WITHOUT the emulator, whose filter would trap
 * every ';' ioctl of the process.
 *
 *   node --import tsx bench/runtime-guarded-call.ts [--calls 200000] [--rounds 7]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import koffi from 'koffi';
import { MigrationSession } from '../runtime/index.js';

const arg = (n: string, d: number) =>
  process.argv.includes(n) ? Number(process.argv[process.argv.indexOf(n) + 1]) : d;
const calls = arg('--calls', 200000);
const rounds = arg('--rounds', 7);
const REQ = 0x3b79;

const fd = openSync('/dev/null', 'r');
const bare = koffi.load('libc.so.6').func('int ioctl(int fd, unsigned long request, void *arg)') as (
  f: number,
  r: number,
  b: Buffer,
) => number;
const buf = Buffer.alloc(24);
const session = MigrationSession.forDataFd(fd, 'PRE_COPY', 'STOP_COPY+P2P+PRE_COPY');

mkdirSync('build', { recursive: true });
writeFileSync(
  'build/ioctl-loop.c',
  `#include <fcntl.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <sys/ioctl.h>\n#include <time.h>\n
int main(int c, char **v) { long n = atol(v[1]); int fd = open("/dev/null", O_RDONLY); char arg[24] = {24};
struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
for (long i = 0; i < n; i++) ioctl(fd, ${REQ}, arg);
clock_gettime(CLOCK_MONOTONIC, &b); printf("%f\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n); return 0; }\n`,
);
execFileSync('gcc', ['-O2', '-o', 'build/ioctl-loop', 'build/ioctl-loop.c']);

function time(f: () => void): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) f();
  return Number(process.hrtime.bigint() - t) / calls;
}
let sink = 0;
const cases: Record<string, () => number> = {
  'C loop (gcc -O2)': () => Number(execFileSync('build/ioctl-loop', [String(calls)], { encoding: 'utf8' })),
  'bare koffi ioctl, Buffer': () => time(() => (sink += bare(fd, REQ, buf))),
  'bare koffi ioctl, Buffer, + koffi.errno()': () =>
    time(() => {
      if (bare(fd, REQ, buf) < 0) sink += koffi.errno();
    }),
  'session.queryPrecopyInfo() (guard, pre-encoded arg, ioctl, errno, decode)': () =>
    time(() => {
      const r = session.queryPrecopyInfo();
      sink += r.ok ? 1 : r.reason === 'errno' ? r.errno : 0;
    }),
  'session.precopyInfo() (same, throws VfioError on ENOTTY)': () =>
    time(() => {
      try {
        session.precopyInfo();
      } catch {
        sink++;
      }
    }),
};
// Interleaved rounds (as bench/harness.ts): round-robin with the start order rotated, 2 warm-up rounds.
const names = Object.keys(cases);
const results: Record<string, number[]> = {};
for (let r = 0; r < rounds + 2; r++)
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + r) % names.length]!;
    const ns = cases[name]!();
    if (r >= 2) (results[name] ??= []).push(ns);
  }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(results['bare koffi ioctl, Buffer']!);
const c = median(results['C loop (gcc -O2)']!);
console.log(`${calls} calls × ${rounds} interleaved rounds, medians; ENOTTY from /dev/null`);
for (const name of names)
  console.log(
    `${name.padEnd(66)} ${median(results[name]!).toFixed(0).padStart(6)} ns  ×bare ${(median(results[name]!) / base).toFixed(2)}  ×C ${(median(results[name]!) / c).toFixed(2)}`,
  );
const guarded = median(results[names[3]!]!);
console.log(
  `target: queryPrecopyInfo ≤ 1.15× bare → ${(guarded / base).toFixed(2)}× (JS overhead ${(guarded - base).toFixed(0)} ns; 15% of bare is ${(0.15 * base).toFixed(0)} ns)${sink > 0 ? '' : ' '}`,
);
session.close();
