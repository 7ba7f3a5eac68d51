export { buildApp, type BuildAppOptions } from './app.js';
export { loadConfig, parseConfig, ConfigError, IngestConfigSchema, SCOPES, type IngestConfig, type IngestConfigInput, type Scope } from './config.js';
export { openPg, openPglite, DatabaseUnavailableError, type Database, type Queryable } from './db.js';
export { migrate, MIGRATIONS, type Migration } from './migrations.js';
export { WriteQueue, QueueRefusedError } from './write-queue.js';
export { runRollup, rollupDay } from './rollup.js';
export { runRetention } from './retention.js';
export { runJob } from './jobs.js';
export { fingerprint, topFrames } from './fingerprint.js';
