// Issues VFIO_DEVICE_FEATURE calls that may never return (a kernel that loops on a forbidden request), away from
// the main thread. Runs as a worker thread (same fd table: the fd number is used as is; one call) or as a child
// process (the device fd is handed over as fd 3; one call per line of stdin, the request's bytes as JSON, until
// stdin ends). Plain JS so it loads without a TypeScript loader.
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
  let pending = '';
  process.stdin.on('data', (chunk) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const bytes = JSON.parse(pending.slice(0, end));
      pending = pending.slice(end + 1);
      // One line before each call: the parent starts its clock here, not at spawn (starting node can take
      // seconds on a slow machine, which is no answer from the kernel). The writes are synchronous (pipes).
      process.stdout.write('ready\n');
      process.stdout.write(`${JSON.stringify(call(3, bytes))}\n`);
    }
  });
}
