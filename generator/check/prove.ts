import type { Ir } from '../ir/types.js';
import { proveFsm } from './fsm-proofs.js';

/** One property of the derived state machine that does not hold. */
export interface ProofFailure {
  property: string;
  caps: string;
  request: string;
  path: string;
  message: string;
}

/** Every proof over the IR: the state-machine proofs (generator/check/fsm-proofs.ts). */
export function prove(ir: Ir): ProofFailure[] {
  return [...proveFsm(ir)];
}

/** One failure as a line: the property, capability set, request, what is wrong and the offending path. */
export const formatFailure = (f: ProofFailure) =>
  `[${f.property}] caps ${f.caps}, request ${f.request}: ${f.message} (path ${f.path})`;

export function proveOrThrow(ir: Ir): void {
  const failures = prove(ir);
  if (failures.length) {
    throw new Error(
      `the spec fails ${failures.length} proof(s):\n` + failures.map((f) => `  ${formatFailure(f)}`).join('\n'),
    );
  }
}
