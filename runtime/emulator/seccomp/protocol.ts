/** Messages between the main thread and the supervisor worker. */

export interface SupervisorWorkerData {
  /** Read end of the pipe the main thread writes a byte to after posting a command (wakes poll). */
  controlReadFd: number;
  /** Int32 slot 0: set to 1 when the process is exiting. */
  sharedState: SharedArrayBuffer;
}

export type CommandToWorker =
  | { type: 'listen'; requestId: number; listenerFd: number; reservedFdFirst: number; reservedFdCount: number }
  | { type: 'attach'; requestId: number; handlerModule: string; handlerOptions: unknown }
  | { type: 'detach'; requestId: number }
  | { type: 'message'; requestId: number; payload: unknown };

export type ReplyFromWorker =
  | { type: 'ready' }
  | { type: 'done'; requestId: number }
  | { type: 'attached'; requestId: number; placeholderDir: string }
  | { type: 'answer'; requestId: number; value: unknown }
  | { type: 'failed'; requestId: number; message: string };
