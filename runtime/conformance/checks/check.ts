import type { CheckContext } from '../context.js';

/** One check, named by the spec rule it judges. */
export interface Check {
  rule: string;
  run(ctx: CheckContext): void | Promise<void>;
}
