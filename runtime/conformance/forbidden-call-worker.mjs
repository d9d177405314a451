// Issues one VFIO_DEVICE_FEATURE call that may never return (a kernel that loops on a forbidden request),
// away from the main thread. Runs as a worker thread (same fd table: the fd number is used as is) or as a
// child process (the device fd is handed over as fd 3). Plain JS so it loads without a TypeScript loader.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const ioctl = libc.func('int ioctl(int fd, unsigned long request, void *arg)');

function call(fd, bytes) {
  const buf = Buffer.from(bytes);
  const ret = ioctl(fd, 0x3b75, buf);
  return { ret, errno: ret < 0 ? koffi.errno() : 0, bytes: [...buf] };
}

if (!isMainThread) {
  parentPort.postMessage(call(workerData.fd, workerData.bytes));
} else {
  const bytes = JSON.parse(process.argv[2]);
  // One line before the call: the parent starts its clock here, not at spawn (starting node can take seconds
  // on a slow machine, which is no answer from the kernel).
  process.stdout.write('ready\n');
  process.stdout.write(JSON.stringify(call(3, bytes)));
}
