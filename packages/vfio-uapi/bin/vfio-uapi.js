#!/usr/bin/env node
// The `vfio-uapi` command: compiled JavaScript, no TypeScript loader at run time.
let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/cli/main.js')) throw error;
  console.error('vfio-uapi: the compiled code is missing (dist/); in a checkout, run `npm run build` first');
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
