/**
 * Save a device's state to a file and restore it into another device.
 *   node --import tsx examples/save-restore/main.ts [SOURCE] [DESTINATION] [FILE]
 * Defaults to two emulated mlx5 devices, so it runs anywhere.
 */
import { loadDevice, openDevices, saveDevice } from 'vfio-uapi';

const [source = 'emulated:mlx5', destination = 'emulated:mlx5', file = '/tmp/vfio-uapi-example.vfio'] =
  process.argv.slice(2);
const [src, dst] = await openDevices([source, destination], { stateSize: 8 << 20 });
try {
  const saved = await saveDevice(src!, file, { finalState: 'RUNNING' });
  console.log(`saved ${saved.totalBytes} bytes (${saved.rounds} pre-copy rounds) to ${file}`);
  const loaded = await loadDevice(dst!, file);
  console.log(`restored ${loaded.streamBytes} bytes; destination is ${dst!.state()}`);
  const [a, b] = [await src!.snapshot(), await dst!.snapshot()];
  if (a && b) console.log(a.digest === b.digest ? 'states are equal' : 'STATES DIFFER');
} finally {
  await src!.close();
  await dst!.close();
}
