export * from './schema.js';
export * from './errors.js';
export * from './load.js';
export * from './defaults.js';
export * from './merge.js';
export * from './json-schema.js';
export * from './versions.js';
export * from './patches.js';
