export * from './types.js';
export * from './rules.js';
export * from './rule-tests.js';
export * from './slo.js';
export * from './overrides.js';
export * from './import-rules.js';
export * from './dashboard-file.js';
export * from './dashboard-links.js';
