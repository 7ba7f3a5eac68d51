export * from './compile.js';
export * from './context.js';
export * from './dashboard.js';
export * from './datasources.js';
export * from './http.js';
export * from './panels.js';
export * from './queries.js';
export * from './promql.js';
