/**
 * vfio-uapi-tools: the generator as a library, for tools that build on the spec.
 *
 *   import { loadSpec, generateAll, prove, diffSpecs, headerCheck } from 'vfio-uapi-tools';
 *   const ir = await loadSpec();                       // the VFIO migration spec this package ships, or a path
 *   for (const f of prove(ir)) console.log(f.property, f.detail);
 */
export { loadSpec, irFromExports, DEFAULT_SPEC, REPO_ROOT, type LoadOptions } from './ir/load.js';
export { importModule, ModuleLoadError } from './ir/import-module.js';
export type * from './ir/types.js';
export { generateAll, writeGenerated, type GenResult } from './gen.js';
export type { GeneratedFile } from './emit/index.js';
export { prove, proveOrThrow, formatFailure, type ProofFailure } from './check/prove.js';
export { headerCheck, type HeaderCheckReport, type HeaderCheckOptions } from './header/check.js';
export {
  checkKernelTable,
  parseKernelTable,
  readKernelTableFile,
  KernelTableInputError,
  deriveKernelTable,
  fsmFacts,
  STEP_ALGORITHMS,
  type KernelTable,
  type KernelTableFinding,
  type StepAlgorithm,
} from './fsm/kernel-table.js';
export {
  fixStatus,
  behaviourOn,
  parseRelease,
  stepAlgorithmOf,
  describeStepAlgorithm,
  fixedReleases,
  affectedReleases,
  type FixStatus,
} from './fsm/kernel-fixes.js';
export { diffSpecs, diffSides, type DiffOptions } from './diff/index.js';
export { PROJECT_ROOT } from './paths.js';
