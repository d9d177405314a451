/**
 * The spec language: builders that return frozen, typed values. A spec module imports only this folder.
 */
export * from './common.js';
export * from './site.js';
export * from './types.js';
export * from './enums.js';
export * from './ioctl.js';
export * from './fsm.js';
export * from './kernel.js';
export * from './rule.js';
export * from './overlay.js';
export * from './scope.js';
