export * from './mk-error.js';
export * from './codes.js';
export * from './common-errors.js';
export * from './system.js';
