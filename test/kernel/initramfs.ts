// Builds the guest's initramfs: busybox, the route's modules (none for a kernel with everything built in) and
// an /init that mounts the host over 9p, prepares the devices, and runs the host's node on the bundled guest
// entry inside a chroot.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCpio, type CpioEntry } from './cpio.js';
import type { KernelModule } from './modules.js';

export const busyboxPath = '/bin/busybox';
/** 9p mount tags shared with qemu.ts. */
export const hostRootTag = 'hostroot';
export const resultsTag = 'results';

export interface GuestPlan {
  /** Cache folder of the kernel the initramfs goes with (the file is named by a hash of its contents). */
  dir: string;
  modules: KernelModule[];
  /** Shell run after the modules load and before node starts (creates mdevs, binds vfio-pci). */
  deviceSetup: string;
  nodePath: string;
  entryScript: string;
}

function initScript(plan: GuestPlan): string {
  const insmods = plan.modules.map((m) => `insmod /lib/modules/${m.name}.ko || echo "insmod ${m.name} failed"`);
  const ninep = 'trans=virtio,version=9p2000.L,msize=262144';
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
${insmods.join('\n')}
# Test parameters come from the kernel command line (vfiotest_suite=…, vfiotest_share=…).
for word in $(cat /proc/cmdline); do
  case "$word" in vfiotest_*=*) export "$word" ;; esac
done
# The host root is only read, and not changed during the few seconds a guest lives: let the guest cache it.
mount -t 9p -o ${ninep},ro,cache=loose ${hostRootTag} /newroot || echo "mount ${hostRootTag} failed"
# The results share is mounted at its own host path, so paths read the same inside and outside.
mount -t 9p -o ${ninep} ${resultsTag} "/newroot$vfiotest_share" || echo "mount ${resultsTag} failed"
for fs in proc sys dev; do mount --bind /$fs /newroot/$fs; done
${plan.deviceSetup}
echo "vfiotest: starting node at uptime $(cut -d" " -f1 /proc/uptime) s"
chroot /newroot ${plan.nodePath} ${plan.entryScript} "$vfiotest_suite" "$vfiotest_share/results.json"
echo "vfiotest: node exited $?"
poweroff -f
`;
}

/** Writes (or reuses) the initramfs for a plan and answers its path. */
export function buildInitramfs(plan: GuestPlan): string {
  const init = initScript(plan);
  const hash = createHash('sha256').update(init);
  for (const module of plan.modules) hash.update(module.contents);
  const file = join(plan.dir, `initramfs-${hash.digest('hex').slice(0, 12)}.cpio`);
  if (existsSync(file)) return file;
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'newroot', 'lib', 'lib/modules'].map((path) => ({
      kind: 'directory' as const,
      path,
    })),
    { kind: 'file', path: 'bin/busybox', contents: readFileSync(busyboxPath), executable: true },
    { kind: 'file', path: 'init', contents: Buffer.from(init), executable: true },
    ...plan.modules.map((m) => ({ kind: 'file' as const, path: `lib/modules/${m.name}.ko`, contents: m.contents })),
  ];
  writeFileSync(`${file}.partial`, buildCpio(entries));
  renameSync(`${file}.partial`, file);
  // An initramfs of an earlier /init or module set is never booted again: keep the cache to the current one.
  for (const old of readdirSync(plan.dir).filter((f) => /^initramfs-[0-9a-f]{12}\.cpio$/.test(f))) {
    if (join(plan.dir, old) !== file) rmSync(join(plan.dir, old), { force: true });
  }
  return file;
}
