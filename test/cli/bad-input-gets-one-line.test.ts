/**
 * Bad input to the device commands, as a new user or a script gives it: each case is a real `vfio-uapi`
 * process (the emulator lives per process) and must end with the documented exit code and ONE line on
 * stderr that names what was wrong (the option, value, path or device) — no stack trace, no hang (30 s),
 * and nothing the user owns changed. Every case of issue 13 is here, plus the neighbours of each.
 */
import { createServer, type Server } from 'node:net';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../runtime/helpers.js';
import { AS_NOBODY, canRunAsNobody } from '../unprivileged.js';
import { hasStackTrace, runCli, type CliOptions } from './run-cli.js';
import { edited, flip, headerLength, reheader, withIdentity } from './state-files.js';

const tmp = tempDir();
const f = tmp.file;
/** A file the user owns, whose bytes must survive every failing command aimed at it. */
const PRECIOUS = Buffer.from('the user wrote this; it must survive\n');
let listener: Server;

beforeAll(async () => {
  const [mtty, mlx5] = await Promise.all([
    runCli(['save', 'emulated:mtty', f('mtty.vfio'), '--quiet']),
    runCli(['save', 'emulated:mlx5', f('mlx5.vfio'), '--quiet', '--size', '256KiB']),
  ]);
  expect([mtty.code, mlx5.code, mtty.stderr + mlx5.stderr]).toEqual([0, 0, '']);
  const good = readFileSync(f('mtty.vfio'));
  const write = (name: string, data: Buffer | string) => writeFileSync(f(name), data);
  /** A copy of the good file with one field changed by `edit`. */
  const writeEdited = (name: string, edit: (b: Buffer) => unknown) => write(name, edited(good, edit));
  write('truncated.vfio', good.subarray(0, good.length - 30));
  copyFileSync('/etc/hostname', f('foreign.vfio'));
  write('header-flip.vfio', flip(good, 20)); // a migration flag: covered by the header checksum now
  write('created-flip.vfio', flip(good, 33)); // the creation time, likewise
  writeEdited('identity-1024.vfio', (b) => b.writeUInt16LE(1024, 26));
  write('identity-escape.vfio', withIdentity(good, Buffer.from('\x1b[2J\x1b[31mowned'), Buffer.from('emulated-mtty')));
  write('identity-bad-utf8.vfio', withIdentity(good, Buffer.from([0x65, 0xff, 0xfe]), Buffer.from('emulated-mtty')));
  // A real device's file (not emulated:) for another driver: the check no longer depends on the identity's form.
  write('other-driver.vfio', withIdentity(good, Buffer.from('0000:3b:00.1'), Buffer.from('mlx5_vfio_pci')));
  write(
    'reserved-set.vfio',
    reheader(good, (h) => (h.writeUInt16LE(7, 30), h)),
  );
  writeEdited('trailer-2p63.vfio', (b) => b.writeBigUInt64LE(1n << 63n, b.length - 24));
  writeEdited('version-2.vfio', (b) => b.writeUInt16LE(2, 8));
  writeEdited('version-1.vfio', (b) => b.writeUInt16LE(1, 8));
  writeEdited('spliced.vfio', (b) => b.fill(0, b.length - 8)); // the trailer's copy of the header checksum
  const mlx5File = readFileSync(f('mlx5.vfio'));
  write('mlx5-body-flip.vfio', flip(mlx5File, headerLength(mlx5File) + 100));
  write('precious.vfio', PRECIOUS);
  // The kernel's own table (examples/kernel-table-loop) with one flag more.
  const table = JSON.parse(
    readFileSync(new URL('../../examples/kernel-table-loop/kernel-table.json', import.meta.url), 'utf8'),
  );
  write('kernel-table.json', JSON.stringify({ ...table, capabilityFlags: { ...table.capabilityFlags, TELEPORT: 8 } }));
  write('broken-spec.ts', 'export const x = ;\n');
  write('huge-list.txt', Buffer.alloc((1 << 20) + 1, 0x61));
  write('precious-socket-path', PRECIOUS);
  write('secret', 'x');
  chmodSync(f('secret'), 0o600);
  chmodSync(tmp.dir, 0o755);
  mkdirSync(f('folder'));
  symlinkSync(f('nowhere.vfio'), f('dangling.vfio'));
  listener = createServer().listen(f('busy.sock'));
  await new Promise((r) => listener.once('listening', r));
});
afterAll(() => {
  listener?.close();
  tmp.remove();
});

const untouched = (name: string) => () => expect(readFileSync(f(name))).toEqual(PRECIOUS);
const absent = (name: string) => () => expect(existsSync(f(name))).toBe(false);

interface Case {
  args: () => string[];
  code: number;
  /** What the one line must say; it must also name the input it is about. */
  says: RegExp;
  /** `input` may name a file made in beforeAll (its bytes are the child's stdin). */
  opts?: Omit<CliOptions, 'input'> & { input?: Buffer | string };
  /** Checks afterwards: files the user owns unchanged, nothing created. */
  after?: () => void;
  skip?: boolean;
}

const save = (...a: string[]) => ['save', ...a, '--quiet'];
const load = (...a: string[]) => ['load', ...a, '--quiet'];

const cases: Record<string, Case> = {
  // ---- files and endpoints ----
  'load unix:PATH where PATH is a regular file (it is never removed)': {
    args: () => load('emulated:mtty', `unix:${f('precious-socket-path')}`),
    code: 7,
    says: /precious-socket-path exists and is not a socket; it is left alone/,
    after: untouched('precious-socket-path'),
  },
  'load unix:PATH where another process listens': {
    args: () => load('emulated:mtty', `unix:${f('busy.sock')}`),
    code: 7,
    says: /busy\.sock: another process is listening there/,
  },
  'unix: path in a missing folder fails at once, not after a wait': {
    args: () => save('emulated:mtty', `unix:${f('no-such-folder/x.sock')}`),
    code: 7,
    says: /unix:.*no-such-folder\/x\.sock: its folder .*no-such-folder does not exist/,
  },
  'unix: path longer than a socket address takes': {
    args: () => save('emulated:mtty', `unix:/${'a'.repeat(120)}`),
    code: 2,
    says: /"unix:\/a{120}": a Unix socket path must be 1 to 107 bytes/,
  },
  'save of a device without migration over an existing file': {
    args: () => save('emulated:nomig', f('precious.vfio')),
    code: 4,
    says: /emulated:nomig does not support migration.*precious\.vfio was not written/,
    after: untouched('precious.vfio'),
  },
  'save failing mid-transfer (+transition-eio) over an existing file': {
    args: () => save('emulated:mtty+transition-eio', f('precious.vfio')),
    code: 1,
    says: /failed.*EIO.*precious\.vfio was not written/,
    after: untouched('precious.vfio'),
  },
  'save refused a final state after the whole stream: no file': {
    args: () => save('emulated:mtty', f('refused.vfio'), '--final-state', 'PRE_COPY'),
    code: 5,
    says: /refused STOP_COPY -> PRE_COPY.*refused\.vfio was not written/,
    after: absent('refused.vfio'),
  },
  'save to /dev/full': {
    args: () => save('emulated:mtty', '/dev/full'),
    code: 7,
    says: /cannot write \/dev\/full: ENOSPC/,
  },
  'save to /proc/version': {
    args: () => save('emulated:mtty', '/proc/version'),
    code: 7,
    says: /cannot write \/proc\/version: .*E[A-Z]+ \(/,
  },
  'save to an fd open for reading only': {
    args: () => save('emulated:mtty', 'fd:3'),
    code: 7,
    says: /cannot write fd:3: it is open for reading only \(EBADF\)/,
    opts: { fds: [openSync('/etc/hostname', 'r')] },
  },
  "save to an fd this process was not given (one of Node's own)": {
    args: () => save('emulated:mtty', 'fd:5'), // a fresh node process's own: libuv's wake-up pipes start at 4
    code: 7,
    says: /cannot write fd:5: it is not a stream this process was given: it is (anon_inode|one end of a pipe)/,
  },
  'save to an fd that is not open': {
    args: () => save('emulated:mtty', 'fd:987'),
    code: 7,
    says: /cannot write fd:987: it is not an open file descriptor \(EBADF\)/,
  },
  'save to fd:abc (not a file named fd:abc)': {
    args: () => save('emulated:mtty', 'fd:abc'),
    code: 2,
    says: /"fd:abc" is not a file descriptor: write fd:N/,
    after: () => expect(existsSync('fd:abc')).toBe(false),
  },
  'save - into a pipe whose reader goes away (| head -c 0)': {
    args: () => save('emulated:mlx5', '-', '--size', '64MiB'),
    code: 7,
    says: /cannot write stdout: the reader closed it \(EPIPE\) — source emulated:mlx5 .*now RUNNING; the stream to - is incomplete/,
    opts: { closeStdout: true },
  },
  'save into a folder that does not exist': {
    args: () => save('emulated:mtty', f('missing/x.vfio')),
    code: 7,
    says: /cannot write .*missing\/x\.vfio: its folder .*missing does not exist/,
  },
  'save onto a folder': {
    args: () => save('emulated:mtty', f('folder')),
    code: 7,
    says: /cannot write .*folder: it is a folder \(EISDIR\)/,
  },
  'save onto a socket path without unix:': {
    args: () => save('emulated:mtty', f('busy.sock')),
    code: 7,
    says: /cannot write .*busy\.sock: it is a Unix socket; .*write unix:/,
  },
  'load from a folder': {
    args: () => load('emulated:mtty', f('folder')),
    code: 7,
    says: /cannot read .*folder: it is a folder \(EISDIR\)/,
  },
  'load from a path that does not exist': {
    args: () => load('emulated:mtty', f('nope.vfio')),
    code: 7,
    says: /cannot read .*nope\.vfio: it does not exist/,
  },
  'load from a dangling symlink': {
    args: () => load('emulated:mtty', f('dangling.vfio')),
    code: 7,
    says: /cannot read .*dangling\.vfio: it is a symbolic link to .*nowhere\.vfio, which does not exist/,
  },
  'load from an fd open for writing only': {
    args: () => load('emulated:mtty', 'fd:3'),
    code: 7,
    says: /cannot read fd:3: it is open for writing only \(EBADF\)/,
    opts: { fds: [openSync('/dev/null', 'w')] },
  },
  // ---- streams ----
  'truncated input': {
    args: () => load('emulated:mtty', f('truncated.vfio')),
    code: 6,
    says: /truncated\.vfio is truncated/,
  },
  'foreign input': {
    args: () => load('emulated:mtty', f('foreign.vfio')),
    code: 6,
    says: /foreign\.vfio is not a vfio-uapi state file.*--raw/,
  },
  'a flipped byte in the header (migration flags)': {
    args: () => load('emulated:mtty', f('header-flip.vfio')),
    code: 6,
    says: /header-flip\.vfio has a damaged header: checksum mismatch/,
  },
  'a flipped byte in the header (creation time)': {
    args: () => load('emulated:mtty', f('created-flip.vfio')),
    code: 6,
    says: /created-flip\.vfio has a damaged header: checksum mismatch/,
  },
  'identity length 1024': {
    args: () => load('emulated:mtty', f('identity-1024.vfio')),
    code: 6,
    says: /identity-1024\.vfio has a damaged header \(its lengths do not add up\)/,
  },
  'escape sequences in the identity never reach the terminal': {
    args: () => load('emulated:mtty', f('identity-escape.vfio')),
    code: 6,
    says: /identity-escape\.vfio has a damaged header \(its identity is not printable UTF-8 text\)/,
  },
  'identity that is not UTF-8': {
    args: () => load('emulated:mtty', f('identity-bad-utf8.vfio')),
    code: 6,
    says: /identity-bad-utf8\.vfio has a damaged header \(its identity is not printable/,
  },
  'a real device identity for another driver (checked, not skipped)': {
    args: () => load('emulated:mtty', f('other-driver.vfio')),
    code: 6,
    says: /emulated:mtty cannot take a stream from .*other-driver\.vfio \(saved from 0000:3b:00\.1\): driver mlx5_vfio_pci vs emulated-mtty.*--force/,
  },
  'the state of one device kind loaded into another': {
    args: () => load('emulated:mlx5', f('mtty.vfio')),
    code: 6,
    says: /emulated:mlx5 cannot take a stream from .*mtty\.vfio \(saved from emulated:mtty\): driver emulated-mtty vs emulated-mlx5/,
  },
  'reserved header bytes not zero': {
    args: () => load('emulated:mtty', f('reserved-set.vfio')),
    code: 6,
    says: /reserved-set\.vfio has a damaged header/,
  },
  'trailer length 2^63 is printed exactly': {
    args: () => load('emulated:mtty', f('trailer-2p63.vfio')),
    code: 6,
    says: /trailer-2p63\.vfio has a damaged trailer: it gives a stream length of 9223372036854775808 bytes/,
  },
  'a trailer spliced from another header': {
    args: () => load('emulated:mtty', f('spliced.vfio')),
    code: 6,
    says: /spliced\.vfio is damaged: its trailer belongs to another header/,
  },
  'format version 2 (header without checksum)': {
    args: () => load('emulated:mtty', f('version-2.vfio')),
    code: 6,
    says: /version-2\.vfio has format version 2 .*tail -c \+\d+ FILE \| head -c -24 \| vfio-uapi load DEVICE - --raw/,
  },
  'format version 1 (CRC-32 trailer)': {
    args: () => load('emulated:mtty', f('version-1.vfio')),
    code: 6,
    says: /version-1\.vfio has format version 1/,
  },
  'a flipped byte in the body of an mlx5 state (the device rejects it, or the checksum does)': {
    args: () => load('emulated:mlx5', f('mlx5-body-flip.vfio')),
    code: 6,
    says: /the device rejected the stream: write data fd failed in RESUMING: E[A-Z]+|mlx5-body-flip\.vfio is damaged: checksum mismatch/,
  },
  'load --raw of a file that has a header': {
    args: () => load('emulated:mtty', f('mtty.vfio'), '--raw'),
    code: 6,
    says: /mtty\.vfio is a vfio-uapi state file .*load it without --raw/,
  },
  'load --raw from a pipe carrying a file with a header': {
    args: () => load('emulated:mtty', '-', '--raw'),
    code: 6,
    says: /emulated:mtty refused the stream \(write data fd in RESUMING: E[A-Z]+\) — if stdin was saved without --raw, load it without --raw/,
    opts: { input: 'mtty.vfio' },
  },
  "migrate between devices that cannot take each other's stream": {
    args: () => ['migrate', 'emulated:mlx5', 'emulated:mtty', '--quiet'],
    code: 6,
    says: /emulated:mtty cannot take a stream from emulated:mlx5: driver emulated-mlx5 vs emulated-mtty/,
  },
  // ---- options: checked before any device is opened ----
  '--final-state BOGUS': {
    args: () => save('emulated:mtty', f('bogus.vfio'), '--final-state', 'BOGUS'),
    code: 2,
    says: /--final-state "BOGUS": is not one of STOP, RUNNING/,
    after: absent('bogus.vfio'),
  },
  '--final-state ERROR (not a state to ask for)': {
    args: () => load('emulated:mtty', f('mtty.vfio'), '--final-state', 'ERROR'),
    code: 2,
    says: /--final-state "ERROR": is not one of/,
  },
  '--size 9007199254740993 (beyond exact integers)': {
    args: () => ['info', 'emulated:mlx5', '--size', '9007199254740993'],
    code: 2,
    says: /--size "9007199254740993": is more than 8 PiB/,
  },
  '--size 100000GiB (more than memory)': {
    args: () => save('emulated:mlx5', f('huge.vfio'), '--size', '100000GiB'),
    code: 2,
    says: /--size "100000GiB": is more than .*GiB: an emulated device's state must fit in this machine's memory/,
    after: absent('huge.vfio'),
  },
  '--size 100TiB (TiB is a unit now; still more than memory)': {
    args: () => ['info', 'emulated:mlx5', '--size', '100TiB'],
    code: 2,
    says: /--size "100TiB": is more than .*memory/,
  },
  "--size ''": { args: () => ['info', 'emulated:mlx5', '--size', ''], code: 2, says: /--size "": is empty/ },
  '--size lots': {
    args: () => ['info', 'emulated:mlx5', '--size', 'lots'],
    code: 2,
    says: /--size "lots": is not a size/,
  },
  '--size 4XB (no such unit)': {
    args: () => ['info', 'emulated:mlx5', '--size', '4XB'],
    code: 2,
    says: /--size "4XB": is not a size/,
  },
  '--size 0': { args: () => ['info', 'emulated:mlx5', '--size', '0'], code: 2, says: /--size "0": is less than 1 B/ },
  '--dirty-threshold 1.5B (not whole bytes)': {
    args: () => save('emulated:mtty', f('x.vfio'), '--dirty-threshold', '1.5B'),
    code: 2,
    says: /--dirty-threshold "1\.5B": is not a size in whole bytes/,
  },
  "--max-rounds ''": {
    args: () => save('emulated:mtty', f('x.vfio'), '--max-rounds', ''),
    code: 2,
    says: /--max-rounds "": is not a whole number from 1 to 1000/,
  },
  '--max-rounds 0': {
    args: () => save('emulated:mtty', f('x.vfio'), '--max-rounds', '0'),
    code: 2,
    says: /--max-rounds "0": is out of range: give 1 to 1000/,
  },
  '--seed 1e20': {
    args: () => ['info', 'emulated:mtty', '--seed', '1e20'],
    code: 2,
    says: /--seed "1e20": is not a whole number/,
  },
  '--seed 4294967296': {
    args: () => ['info', 'emulated:mtty', '--seed', '4294967296'],
    code: 2,
    says: /--seed "4294967296": is out of range: give 0 to 4294967295/,
  },
  '--mode fast': {
    args: () => save('emulated:mtty', f('m.vfio'), '--mode', 'fast'),
    code: 2,
    says: /--mode "fast": is not one of stepwise, direct, qemu/,
  },
  '--guard loose': {
    args: () => ['info', 'emulated:mtty', '--guard', 'loose'],
    code: 2,
    says: /--guard "loose": is not one of strict, audit/,
  },
  '--processes 3': {
    args: () => ['migrate', 'emulated:mtty', 'emulated:mtty', '--processes', '3'],
    code: 2,
    says: /--processes "3": is not one of 1, 2/,
  },
  '--io-timeout 0': {
    args: () => save('emulated:mtty', f('t.vfio'), '--io-timeout', '0'),
    code: 2,
    says: /--io-timeout "0": is out of range/,
  },
  '--connect-timeout soon': {
    args: () => save('emulated:mtty', 'unix:/tmp/x.sock', '--connect-timeout', 'soon'),
    code: 2,
    says: /--connect-timeout "soon": is not a duration/,
  },
  '--forbidden-timeout abc (conform)': {
    args: () => ['conform', 'emulated:mtty', '--forbidden-timeout', 'abc'],
    code: 2,
    says: /--forbidden-timeout "abc": is not a whole number/,
  },
  'conform --known-failures /dev/zero (read with a bound, never until memory runs out)': {
    args: () => ['conform', 'emulated:mtty', '--known-failures', '/dev/zero'],
    code: 2,
    says: /\/dev\/zero is not a regular file; a known-failures list must be one/,
  },
  'conform --known-failures larger than any list': {
    args: () => ['conform', 'emulated:mtty', '--known-failures', f('huge-list.txt')],
    code: 2,
    says: /huge-list\.txt is larger than 1048576 bytes; a known-failures list is never that large/,
  },
  'conform --known-failures that does not exist': {
    args: () => ['conform', 'emulated:mtty', '--known-failures', f('no-list.txt')],
    code: 7,
    says: /cannot read .*no-list\.txt: it does not exist/,
  },
  // The tool commands' cases of issue 13 (their checks live with those commands).
  'check --kernel-table /dev/zero (read with a bound)': {
    args: () => ['check', '--kernel-table', '/dev/zero'],
    code: 2,
    says: /\/dev\/zero: more than 1024 KiB; a kernel table is a few kB of JSON/,
  },
  'check --kernel-table with an unknown capability flag': {
    args: () => ['check', '--kernel-table', f('kernel-table.json')],
    code: 2,
    says: /kernel-table\.json: capabilityFlags: "TELEPORT" is not a capability flag of the spec/,
  },
  'diff against a .ts with a syntax error': {
    args: () => ['diff', f('broken-spec.ts'), f('broken-spec.ts')],
    code: 1,
    says: /cannot load .*broken-spec\.ts:1:\d+: syntax error/,
  },
  'an unknown command': {
    args: () => ['sav', 'emulated:mtty'],
    code: 2,
    says: /unknown command "sav"; run `vfio-uapi --help` for the list/,
  },
  // A name every object has (Object.prototype) is no command either.
  'a command named like an object property': {
    args: () => ['constructor'],
    code: 2,
    says: /unknown command "constructor"/,
  },
  'an unknown option': {
    args: () => ['info', 'emulated:mtty', '--colour'],
    code: 2,
    says: /Unknown option '--colour'/,
  },
  'an option without its value': { args: () => ['info', 'emulated:mtty', '--size'], code: 2, says: /--size/ },
  'missing arguments': {
    args: () => ['load', 'emulated:mtty'],
    code: 2,
    says: /give DEVICE and INPUT \(got 1: "emulated:mtty"\)/,
  },
  'too many arguments': {
    args: () => ['info', 'emulated:mtty', 'emulated:mlx5'],
    code: 2,
    says: /give exactly one DEVICE \(got 2: "emulated:mtty" "emulated:mlx5"\)/,
  },
  'device ""': { args: () => save('', f('e.vfio')), code: 2, says: /DEVICE is empty: give a device path/ },
  'unknown personality': {
    args: () => ['info', 'emulated:nvme'],
    code: 2,
    says: /DEVICE "emulated:nvme": unknown emulated personality "nvme"/,
  },
  'unknown quirk': { args: () => ['info', 'emulated:mtty+sometimes'], code: 2, says: /unknown quirk "sometimes"/ },
  'escape sequences in a device name are escaped': {
    args: () => ['info', 'emulated:\x1b[31mred'],
    code: 2,
    says: /DEVICE "emulated:\\u001b\[31mred": unknown emulated personality/,
  },
  'emulate with no device': { args: () => ['emulate'], code: 2, says: /give at least one DEVICE \(got none\)/ },
  // ---- devices ----
  'missing device path': {
    args: () => ['info', '/dev/vfio/devices/vfio999'],
    code: 3,
    says: /\/dev\/vfio\/devices\/vfio999 does not exist/,
  },
  'not a VFIO device': { args: () => ['info', '/dev/null'], code: 3, says: /\/dev\/null is not a VFIO device/ },
  'permission denied': {
    args: () => ['info', f('secret')],
    code: 3,
    says: /permission denied opening .*secret/,
    opts: { prefix: AS_NOBODY },
    skip: !canRunAsNobody,
  },
  'group without a device name': {
    args: () => ['info', '/dev/vfio/7'],
    code: 2,
    says: /\/dev\/vfio\/7 is a VFIO group; name the device too/,
  },
};

describe.concurrent.each(Object.entries(cases))('%s', (_name, c) => {
  it.skipIf(c.skip === true)(`exits ${c.code} with one line naming the input, no stack trace`, async () => {
    const input = typeof c.opts?.input === 'string' ? readFileSync(f(c.opts.input)) : c.opts?.input;
    const r = await runCli(c.args(), { ...c.opts, input });
    expect(r.timedOut).toBe(false);
    expect(hasStackTrace(r.stderr)).toBe(false);
    expect(r.stderr).not.toContain('\x1b');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(c.says);
    expect(r.code).toBe(c.code);
    c.after?.();
  });
});

it('counts at least 40 bad inputs', () => {
  expect(Object.keys(cases).length).toBeGreaterThanOrEqual(40);
});

describe.concurrent('stdout closed by its reader (| head -c 0)', () => {
  it.each([
    ['info --json', ['info', 'emulated:mtty', '--json']],
    ['save --json', ['save', 'emulated:mtty', f('closed-stdout.vfio'), '--json', '--quiet']],
    ['ir --json', ['ir', '--json']],
  ])('%s: no stack trace, exit 7, nothing printed', async (_n, args) => {
    const r = await runCli(args, { closeStdout: true });
    expect(r.timedOut).toBe(false);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(7);
  });
});

it('--json reports the error as one JSON object with kind and errno', async () => {
  const r = await runCli(['info', '/dev/null', '--json']);
  expect(r.code).toBe(3);
  expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, kind: 'not-vfio', errnoName: 'ENOTTY' });
});

it('--help documents the exit codes and the values', async () => {
  const r = await runCli(['save', '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/exit codes:/);
  expect(r.stdout).toMatch(/--io-timeout TIME/);
  expect(r.stdout).toMatch(/SIZE: whole bytes/);
});
