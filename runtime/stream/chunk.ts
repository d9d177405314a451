/** Bytes per read: the data fd is read a MiB at a time, into one reused buffer. */
export const CHUNK = 1 << 20;
