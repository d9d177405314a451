import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpec } from '../../generator/ir/load.js';
import { SpecError } from '../../generator/ir/errors.js';

const dir = join(import.meta.dirname, '../fixtures/bad-spec');

/** The 1-based line of the first occurrence of `needle` in a fixture. */
const lineOf = (file: string, needle: string) =>
  readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(needle)) + 1;

async function problems(file: string): Promise<string> {
  try {
    await loadSpec(join(dir, file), { docs: false });
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as Error).message;
  }
  throw new Error(`${file} was accepted`);
}

describe('a bad spec fails with the file and line of the offending declaration', () => {
  const cases: [string, string, RegExp][] = [
    ['duplicate-name.ts', "struct('mini_info'", /duplicate struct name mini_info.*rename one/],
    [
      'ioctl-number-reused.ts',
      "ioctl('MINI_RESET'",
      /ioctl number 0x3b64 is used on fd kind device by both MINI_\w+ .* and MINI_\w+/,
    ],
    ['flag-bit-reused.ts', "flags('mini_flags'", /flag bit 2 of mini_flags is used by both B and C/],
    ['arc-unknown-state.ts', "arc('STOP', 'HALTED')", /arc STOP->HALTED names unknown state "HALTED"/],
    ['rule-unknown-ioctl.ts', "rule('mini.valid'", /rule mini\.valid names unknown operation "MINI_GET_STATUS"/],
    ['rule-unknown-fd-kind.ts', "rule('mini.valid'", /rule mini\.valid names unknown fd kind "container"/],
    [
      'payload-below-minimum.ts',
      "feature(9, 'MINI_SIZE'",
      /requires a 16-byte payload but its payload mini_size is 8 bytes/,
    ],
    [
      'layout-contradicted.ts',
      'export const mini_precopy',
      /mini_precopy is 16 bytes by the C layout rules, but the spec expects 12/,
    ],
    [
      'name-two-meanings.ts',
      "enumeration('mini_old'",
      /the name MINI_OLD_A means two things at once: MINI_V1_A before 5\.18 \(from 5\.8\) and MINI_OLD_A itself \(from 5\.10\)/,
    ],
    [
      'out-of-scope-described.ts',
      'outOfScope(',
      /mini_info is both described by the spec and listed as out of scope \("not for this spec"\)/,
    ],
  ];
  for (const [file, needle, message] of cases) {
    it(`${file.replace('.ts', '')}: names ${needle}`, async () => {
      const text = await problems(file);
      expect(text).toMatch(message);
      expect(text).toMatch(new RegExp(`test/fixtures/bad-spec/${file}:${lineOf(file, needle)}\\b`));
    });
  }

  it('reports a contradicted field offset too, not only the first problem', async () => {
    const text = await problems('layout-contradicted.ts');
    expect(text).toMatch(/field initial_bytes is at offset 8, but the spec expects 4/);
  });
});
