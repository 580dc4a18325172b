export * from './mk-error.js';
export * from './codes.js';
export * from './system.js';
