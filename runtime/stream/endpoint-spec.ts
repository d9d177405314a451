/**
 * Stream endpoints as the CLI and the API take them, parsed without opening anything (no koffi here, so
 * the CLI checks them before any device is opened, and `--help` loads nothing): `-`, `fd:N`, `unix:/PATH`, or a path.
 */

export type EndpointSpec =
  { kind: 'stdio' } | { kind: 'fd'; fd: number } | { kind: 'unix'; path: string } | { kind: 'path'; path: string };

/** Longest sun_path, without its terminating NUL. */
export const SUN_PATH_MAX = 107;

/** A malformed endpoint (endpoints.ts makes it a VfioError of kind `usage`). */
export class EndpointSyntaxError extends Error {}

function usage(_spec: string, message: string): EndpointSyntaxError {
  return new EndpointSyntaxError(message);
}

/**
 * Parse an endpoint. Strict: `fd:abc` is an error, not a file named `fd:abc` (write `./fd:abc` for that).
 */
export function endpointSyntax(spec: string): EndpointSpec {
  if (spec === '') throw usage(spec, 'the stream endpoint is empty: give a path, -, fd:N or unix:/PATH');
  if (spec === '-') return { kind: 'stdio' };
  if (spec.startsWith('fd:')) {
    const m = /^fd:(\d{1,10})$/.exec(spec);
    const fd = m ? Number(m[1]) : NaN;
    if (!m || fd > 0x7fffffff)
      throw usage(
        spec,
        `"${spec}" is not a file descriptor: write fd:N with N a number (for a file of that name, write ./${spec})`,
      );
    return { kind: 'fd', fd };
  }
  if (spec.startsWith('unix:')) {
    const path = spec.slice('unix:'.length);
    const bytes = Buffer.byteLength(path, 'utf8');
    if (bytes === 0 || bytes > SUN_PATH_MAX || path.includes('\0'))
      throw usage(spec, `${JSON.stringify(spec)}: a Unix socket path must be 1 to ${SUN_PATH_MAX} bytes`);
    return { kind: 'unix', path };
  }
  if (spec.includes('\0')) throw usage(spec, `${JSON.stringify(spec)}: a path cannot contain a NUL byte`);
  return { kind: 'path', path: spec };
}
