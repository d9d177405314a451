/**
 * The VFIO live-migration uAPI (and the device-access calls around it), written in the spec language.
 * This module is the spec's entry point: the generator loads every export from here.
 */
export * from './base.js';
export * from './container.js';
export * from './device.js';
export * from './cdev.js';
export * from './feature.js';
export * from './dma-buf.js';
export * from './migration.js';
export * from './migration-v1.js';
export * from './dma-logging.js';
export * from './kernel-fixes.js';
export * from './fsm.js';
export * from './rules.js';
export * from './out-of-scope.js';
