import type { Ir } from '../ir/types.js';

/** One property of the derived state machine that does not hold. */
export interface ProofFailure {
  property: string;
  caps: string;
  request: string;
  path: string;
  message: string;
}

/** Every proof over the IR. Extended by the state-machine proofs (generator/check/fsm-proofs.ts). */
export function prove(_ir: Ir): ProofFailure[] {
  return [];
}

export function proveOrThrow(ir: Ir): void {
  const failures = prove(ir);
  if (failures.length) {
    throw new Error(
      `the spec fails ${failures.length} proof(s):\n` +
        failures
          .map((f) => `  [${f.property}] caps ${f.caps}, request ${f.request}: ${f.message} (path ${f.path})`)
          .join('\n'),
    );
  }
}
