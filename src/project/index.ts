export * from './content.js';
export * from './load.js';
export * from './synth.js';
export * from './teams.js';
export * from './rule-tests.js';
export * from './project.js';
