/**
 * cli/options.ts: one table per command parses, checks and documents its options. Sizes are exact whole
 * bytes with units B to TiB; durations take ms/s/m/h; values absent take their fallback; an option added to
 * a table is one more line of help; errors are UsageErrors naming the option and the value.
 */
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  checkFitsOnDisk,
  choice,
  DEVICE,
  duration,
  flag,
  integer,
  list,
  optionsHelp,
  parseCommandLine,
  size,
  sizeBytes,
  UsageError,
} from '../../cli/options.js';

describe('sizeBytes', () => {
  it.each([
    ['4096', 4096n],
    ['64KiB', 65536n],
    ['64kib', 65536n],
    ['1KB', 1000n],
    ['1.5GiB', 1610612736n],
    ['100TiB', 100n * 1024n ** 4n],
    ['2 MiB', 2n * 1024n ** 2n],
    ['9007199254740993', 9007199254740993n],
  ])('%s is %s bytes', (text, bytes) => expect(sizeBytes(text)).toBe(bytes));
  it.each(['', '1.5B', '0.1KiB', '1e3', '-1', 'lots', '4XB', '1.5.5MiB'])('%j is not a size', (text) =>
    expect(sizeBytes(text)).toBeNull(),
  );
});

describe('parseCommandLine', () => {
  const TABLE = {
    quiet: flag('say less'),
    size: size('how much', { min: 1, max: 1 << 20 }),
    rounds: integer('how many', { min: 1, max: 9, fallback: 3 }),
    wait: duration('how long'),
    mode: choice(['a', 'b'] as const, 'which', { fallback: 'a' }),
    only: list('these', { arg: 'RULE' }),
  };

  it('gives typed values, fallbacks for what is absent', () => {
    const { values, positionals } = parseCommandLine(
      ['emulated:mtty', '--size', '64KiB', '--wait', '1.5', '--only', 'x', '--only', 'y'],
      TABLE,
      [DEVICE],
    );
    expect(values).toEqual({ quiet: false, size: 65536, rounds: 3, wait: 1500, mode: 'a', only: ['x', 'y'] });
    expect(positionals).toEqual(['emulated:mtty']);
  });

  it.each([
    [['d', '--size', '2MiB'], '--size "2MiB": is more than 1 MiB'],
    [['d', '--size', '0'], '--size "0": is less than 1 B'],
    [['d', '--rounds', '10'], '--rounds "10": is out of range: give 1 to 9'],
    [['d', '--rounds', '2.0'], '--rounds "2.0": is not a whole number from 1 to 9'],
    [['d', '--wait', '500us'], '--wait "500us": is not a duration (like 500ms, 10s, 2m; a plain number is seconds)'],
    [['d', '--mode', 'c'], '--mode "c": is not one of a, b'],
    [['d', '--only', ''], '--only "": is empty; give RULE'],
    [['d', '--nope'], "Unknown option '--nope'"],
    [[], 'give exactly one DEVICE (got none)'],
    [['', '--quiet'], 'DEVICE is empty: give a device path'],
  ])('%j: %s', (args, message) => {
    expect(() => parseCommandLine(args, TABLE, [DEVICE])).toThrow(UsageError);
    expect(() => parseCommandLine(args, TABLE, [DEVICE])).toThrow(message);
  });

  it('duration units', () => {
    const t = { t: duration('x') };
    const ms = (v: string) => parseCommandLine(['d', '--t', v], t, [DEVICE]).values.t;
    expect([ms('500ms'), ms('10s'), ms('2m'), ms('1h'), ms('3')]).toEqual([500, 10_000, 120_000, 3_600_000, 3000]);
  });
});

it('adding an option to a table is one more line of help, with its value placeholder', () => {
  const before = { quiet: flag('say less') };
  const after = { ...before, 'io-timeout': duration('longest stall') };
  const lines = optionsHelp(after).split('\n');
  expect(lines).toHaveLength(optionsHelp(before).split('\n').length + 1);
  expect(lines[1]).toMatch(/^ {2}--io-timeout TIME +longest stall$/);
});

it('a state that would not fit on the disk that takes it is refused, naming the folder', () => {
  const st = statfsSync(tmpdir());
  const free = st.bavail * st.bsize;
  expect(() => checkFitsOnDisk(`${tmpdir()}/x.vfio`, free + 1e9)).toThrow(
    new RegExp(`^--size .* the saved state would not fit in ${tmpdir()} \\(.* free\\)$`),
  );
  expect(() => checkFitsOnDisk(`${tmpdir()}/x.vfio`, 4096)).not.toThrow();
  expect(() => checkFitsOnDisk('unix:/tmp/x.sock', free + 1e9)).not.toThrow(); // not a file
});
