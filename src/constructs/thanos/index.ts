export * from './common.js';
export * from './sidecar.js';
export * from './query.js';
export * from './store-gateway.js';
export * from './compactor.js';
export * from './ruler.js';
export * from './thanos.js';
