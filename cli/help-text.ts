/** Help texts of the device commands; no imports, so `--help` stays cheap. */

export const DEVICE_HELP = `DEVICE: a path or an emulated device
  /dev/vfio/devices/vfioN        cdev + /dev/iommu (BIND_IOMMUFD, IOAS_ALLOC, ATTACH)
  /dev/vfio/GROUP:NAME           legacy group/container, e.g. /dev/vfio/7:0000:01:00.0
  emulated:PERSONALITY[+QUIRK…]  in-process emulator: mtty, hisi-acc, mlx5, nomig (e.g. emulated:mtty+short-reads)
common options:
  --json            print one JSON object on stdout (errors too)
  --size SIZE       state size of emulated mlx5 devices (e.g. 64MiB)
  --seed N          seed of the first emulated device's state (later ones get N+1, …)
  --mode M          stepwise (one SET per arc, each verified; default), direct (one SET of the target) or
                    qemu (the SETs QEMU sends: through PRE_COPY_P2P / RUNNING_P2P when the device has P2P)
  --guard G         strict (refuse forbidden calls before the syscall; default) or audit (issue and record)`;

export const EXIT_HELP = `exit codes:
  0  success
  1  the device or kernel failed a call (after recovery or reset; see the message)
  2  bad usage: unknown option, personality or quirk, malformed value
  3  the device cannot be opened: missing path, permission denied, not a VFIO device
  4  the device does not support migration (or its flags are undefined)
  5  refused by the uAPI rules in the device's current state (no syscall was made)
  6  the input stream is truncated, foreign or damaged (load)
  7  the input or output path cannot be read or written
  8  verification failed: the destination's state differs from the source's`;
