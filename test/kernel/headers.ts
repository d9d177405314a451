// Fetches the Linux 6.12 packages (cached) and prints the include directory of its uapi headers
// (linux-libc-dev), for tools that compare the spec with real headers.
// Usage: node --import tsx test/kernel/headers.ts
import { fetchRouteA, PackagesUnavailable } from './fetch.js';

try {
  console.log(fetchRouteA().libcDevInclude);
} catch (error) {
  if (!(error instanceof PackagesUnavailable)) throw error;
  console.error(`SKIPPED: ${error.message}`);
  process.exit(3);
}
