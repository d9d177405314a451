/**
 * Builds the classic-BPF program that decides which syscalls reach the supervisor.
 *
 * Trapped: every ioctl whose type byte is ';' (VFIO, iommufd) on any fd, and the listed fd-based syscalls
 * (plus any ioctl) on fds inside the reserved range, where the emulator installs its own fds. Everything
 * else runs untouched. BPF cannot read user memory, so paths (openat) cannot be filtered; device nodes are
 * placeholder files recognised later by the fd's /proc link.
 */
import {
  AUDIT_ARCH_X86_64,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_USER_NOTIF,
  SeccompDataLayout,
  SyscallNr,
  VFIO_IOCTL_TYPE,
  type TrappedSyscallName,
} from './constants.js';

// Classic BPF opcodes (linux/bpf_common.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JA = 0x05;
const AND_K = 0x54;
const RET_K = 0x06;

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export interface FilterPlan {
  /** First fd number the emulator may install into the traced process. */
  reservedFdFirst: number;
  /** How many fd numbers from `reservedFdFirst` on belong to the emulator. */
  reservedFdCount: number;
  /** fd-based syscalls trapped when their first argument is in the reserved range. */
  fdSyscalls: readonly TrappedSyscallName[];
}

export const defaultFdSyscalls: readonly TrappedSyscallName[] = [
  'read',
  'write',
  'close',
  'pread64',
  'pwrite64',
  'readv',
  'writev',
  'lseek',
  'fcntl',
  'fstat',
];

/** Returns the program as the 8-byte `struct sock_filter` array the kernel expects. */
export function buildFilter(plan: FilterPlan): Buffer {
  const insns: Insn[] = [];
  const emit = (code: number, k: number, jt = 0, jf = 0) => insns.push({ code, jt, jf, k });
  // Jump targets are symbolic until the end, then patched as relative offsets.
  const fixups: Array<{ at: number; field: 'jt' | 'jf' | 'k'; label: string }> = [];
  const labels = new Map<string, number>();
  const jump = (code: number, k: number, jt: string | null, jf: string | null) => {
    const at = insns.length;
    emit(code, k);
    if (jt) fixups.push({ at, field: 'jt', label: jt });
    if (jf) fixups.push({ at, field: 'jf', label: jf });
  };

  emit(LD_W_ABS, SeccompDataLayout.arch);
  jump(JEQ_K, AUDIT_ARCH_X86_64, null, 'allow');
  emit(LD_W_ABS, SeccompDataLayout.nr);
  jump(JEQ_K, SyscallNr.ioctl, 'ioctl', null);
  for (const name of plan.fdSyscalls) jump(JEQ_K, SyscallNr[name], 'fdCheck', null);
  fixups.push({ at: insns.length, field: 'k', label: 'allow' });
  emit(JA, 0);

  labels.set('ioctl', insns.length);
  emit(LD_W_ABS, SeccompDataLayout.args + 8 * 1); // low 32 bits of the request
  emit(AND_K, 0xff00);
  jump(JEQ_K, VFIO_IOCTL_TYPE << 8, 'notify', 'fdCheck');

  labels.set('fdCheck', insns.length);
  emit(LD_W_ABS, SeccompDataLayout.args + 8 * 0); // low 32 bits of the fd
  jump(JGE_K, plan.reservedFdFirst, null, 'allow');
  jump(JGE_K, plan.reservedFdFirst + plan.reservedFdCount, 'allow', 'notify');

  labels.set('notify', insns.length);
  emit(RET_K, SECCOMP_RET_USER_NOTIF);
  labels.set('allow', insns.length);
  emit(RET_K, SECCOMP_RET_ALLOW);

  for (const { at, field, label } of fixups) {
    const target = labels.get(label)!;
    const offset = target - (at + 1);
    if (offset < 0 || (field !== 'k' && offset > 255)) throw new Error(`BPF jump to ${label} out of range`);
    insns[at]![field] = offset;
  }

  const program = Buffer.alloc(insns.length * 8);
  insns.forEach((insn, i) => {
    program.writeUInt16LE(insn.code, i * 8);
    program.writeUInt8(insn.jt, i * 8 + 2);
    program.writeUInt8(insn.jf, i * 8 + 3);
    program.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return program;
}
