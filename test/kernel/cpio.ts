// A minimal writer for the "newc" cpio format, the one the kernel unpacks as an initramfs.

export type CpioEntry =
  | { kind: 'directory'; path: string }
  | { kind: 'file'; path: string; contents: Buffer; executable?: boolean }
  | { kind: 'symlink'; path: string; target: string };

const fileType = { directory: 0o040000, file: 0o100000, symlink: 0o120000 };

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function record(inode: number, mode: number, name: string, data: Buffer): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`);
  const fields = [inode, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
  const header = Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join(''));
  return [header, nameBytes, pad4(header.length + nameBytes.length), data, pad4(data.length)];
}

export function buildCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((entry, i) => {
    const name = entry.path.replace(/^\/+/, '');
    if (entry.kind === 'directory') parts.push(...record(i + 1, fileType.directory | 0o755, name, Buffer.alloc(0)));
    else if (entry.kind === 'symlink') {
      parts.push(...record(i + 1, fileType.symlink | 0o777, name, Buffer.from(entry.target)));
    } else {
      const permissions = entry.executable ? 0o755 : 0o644;
      parts.push(...record(i + 1, fileType.file | permissions, name, entry.contents));
    }
  });
  parts.push(...record(0, 0, 'TRAILER!!!', Buffer.alloc(0)));
  return Buffer.concat(parts);
}
