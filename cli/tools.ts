/**
 * The uAPI tools (check, diff, gen, header-check, ir, and `conform --spec`) need the generator and its
 * libraries, which come in the vfio-uapi-tools package; a runtime consumer installs vfio-uapi alone.
 */
export const TOOL_COMMANDS = ['check', 'diff', 'gen', 'header-check', 'ir'] as const;
export const TOOLS_PACKAGE = 'vfio-uapi-tools';
export const TOOLS_HINT = `the uAPI tools (${TOOL_COMMANDS.join(', ')}) come in the ${TOOLS_PACKAGE} package: npm install --save-dev ${TOOLS_PACKAGE}`;

/** The tools package itself is not installed (its own dependencies missing is a different, louder error). */
export function toolsMissing(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(`'${TOOLS_PACKAGE}'`);
}

/** A tool is needed but not installed: a usage problem with the one line that says how to get it. */
export class ToolsMissingError extends Error {
  readonly code = 'ERR_VFIO_UAPI_TOOLS_MISSING';
}

/** The generator API (vfio-uapi-tools), for options of device commands that need it. */
export async function uapiTools(neededFor: string): Promise<typeof import('vfio-uapi-tools')> {
  try {
    return await import(TOOLS_PACKAGE);
  } catch (error) {
    if (toolsMissing(error)) throw new ToolsMissingError(`${neededFor} reads a spec module: ${TOOLS_HINT}`);
    throw error;
  }
}
