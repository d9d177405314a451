/** Help texts of the device commands; no imports, so `--help` stays cheap. Options come from cli/options.ts. */

export const DEVICE_HELP = `DEVICE: a path or an emulated device
  /dev/vfio/devices/vfioN        cdev + /dev/iommu (BIND_IOMMUFD, IOAS_ALLOC, ATTACH)
  /dev/vfio/GROUP:NAME           legacy group/container, e.g. /dev/vfio/7:0000:01:00.0
  emulated:PERSONALITY[+QUIRK…]  in-process emulator: mtty, hisi-acc, mlx5, nomig (e.g. emulated:mtty+short-reads)`;

/** SIZE and TIME values, for the commands that take them. */
export const VALUES_HELP = `SIZE: whole bytes with an optional unit, B KB KiB MB MiB GB GiB TB TiB (e.g. 4096, 64KiB, 1.5GiB)
TIME: 500ms, 10s, 2m, 1h; a plain number is seconds`;

export const EXIT_HELP = `exit codes:
  0    success
  1    the device or kernel failed a call (after recovery or reset; see the message)
  2    bad usage: unknown option, personality or quirk, malformed or out-of-range value
  3    the device cannot be opened: missing path, permission denied, not a VFIO device
  4    the device does not support migration (or its flags are undefined)
  5    refused by the uAPI rules in the device's current state (no syscall was made)
  6    the input stream is truncated, foreign or damaged, or the device rejected it; or the destination
       cannot take the source's stream (another driver or other flags), found before either is touched
  7    a file, pipe or socket could not be read or written (the message names it), or the other side stalled
       past --io-timeout; also when stdout was closed by its reader (then nothing is printed)
  8    verification failed: the destination's state differs from the source's
  130  interrupted by SIGINT (143: SIGTERM): the transfer stopped, the device was recovered, no output written`;
