export * from './errno.js';
export * from './errors.js';
export * from './constants.js';
export * from './libc.js';
