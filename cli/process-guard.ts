/**
 * What a command needs from the process around it: SIGINT/SIGTERM turned into an AbortSignal (the device
 * commands pass it down; a transfer stops, its device is recovered, its output is not written, and the
 * command exits 130 or 143 with one line), and a stdout closed by its reader (`| head`) ending the command
 * quietly with exit 7 instead of an unhandled EPIPE stack trace.
 */

type Interrupt = 'SIGINT' | 'SIGTERM';

export const SIGNAL_EXIT: Record<Interrupt, number> = { SIGINT: 130, SIGTERM: 143 };
/** The exit code when stdout was closed by its reader (the output path could not be written). */
export const STDOUT_CLOSED_EXIT = 7;

let controller: AbortController | null = null;
let received: Interrupt | null = null;
let stdoutBroken = false;

/**
 * The signal that fires on the first SIGINT or SIGTERM (its reason is the signal's name). Installs the
 * handlers on first use; a second signal ends the process at once (exit hooks still remove temporary files).
 */
export function interruptSignal(): AbortSignal {
  if (controller) return controller.signal;
  const c = new AbortController();
  controller = c;
  const on = (sig: Interrupt) => () => {
    if (received) process.exit(SIGNAL_EXIT[sig]);
    received = sig;
    c.abort(sig);
  };
  process.on('SIGINT', on('SIGINT'));
  process.on('SIGTERM', on('SIGTERM'));
  return c.signal;
}

/** The signal that interrupted this command, if one did. */
export function interruptedBy(): Interrupt | null {
  return received;
}

/** Swallow EPIPE (and other errors) on stdout: the reader left; the command finishes, and exits 7. */
export function guardStdout(): void {
  process.stdout.on('error', () => {
    stdoutBroken = true;
    // An asynchronous stdout (a socket) reports it after the command returned its code.
    if (!process.exitCode) process.exitCode = STDOUT_CLOSED_EXIT;
  });
}

/** Whether stdout was closed by its reader while the command ran. */
export function stdoutClosed(): boolean {
  return stdoutBroken;
}

/**
 * The exit code a command ends with, given what it returned: a signal's code when one interrupted it (one
 * line says so if the command did not), 7 when stdout was closed early; else its own.
 */
export function finishCommand(command: string, code: number): number {
  if (received) {
    const signalCode = SIGNAL_EXIT[received];
    if (code !== signalCode)
      process.stderr.write(
        `vfio-uapi ${command}: interrupted by ${received}${code === 0 ? ' as it finished (its work is done)' : ''}\n`,
      );
    return signalCode;
  }
  if (stdoutBroken && code === 0) return STDOUT_CLOSED_EXIT;
  return code;
}

/** A message as one line on a terminal: line breaks become spaces, other control characters escapes. */
export function oneLine(message: string): string {
  return message
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .trim();
}
