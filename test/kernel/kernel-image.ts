// Turns Debian's compressed bzImage into the plain vmlinux ELF, which QEMU boots through its PVH entry
// (saves the in-guest decompression, slow under TCG). 6.12 ships zstd, 6.1 ships xz.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { run } from './exec.js';

const decompressors = [
  {
    magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]),
    command: (input: string, output: string) => ['zstd', ['-d', '-q', '-f', input, '-o', output]] as const,
  },
  // --single-stream: stop after the first stream and ignore the size the boot format appends.
  {
    magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
    command: (input: string, output: string) =>
      ['bash', ['-c', `xz -dc --single-stream '${input}' > '${output}'`]] as const,
  },
];

export function bootableKernel(vmlinuz: string): string {
  const elf = `${vmlinuz}.elf`;
  if (existsSync(elf)) return elf;
  const image = readFileSync(vmlinuz);
  // Boot-protocol header: setup sectors at 0x1f1, payload offset/length (from the protected-mode start) at 0x248.
  const setupSectors = image.readUInt8(0x1f1) || 4;
  const payloadStart = (setupSectors + 1) * 512 + image.readUInt32LE(0x248);
  const payloadLength = image.readUInt32LE(0x24c);
  const payload = image.subarray(payloadStart, payloadStart + payloadLength);
  const decompressor = decompressors.find((d) => payload.subarray(0, d.magic.length).equals(d.magic));
  // Unknown compression: QEMU can still boot the bzImage itself.
  if (!decompressor) return vmlinuz;
  const compressed = `${elf}.compressed`;
  // The payload ends with the 4-byte uncompressed size, which belongs to no compressed frame.
  writeFileSync(compressed, payload.subarray(0, payload.length - 4));
  const [command, args] = decompressor.command(compressed, `${elf}.partial`);
  run(command, args);
  rmSync(compressed);
  renameSync(`${elf}.partial`, elf);
  return elf;
}
