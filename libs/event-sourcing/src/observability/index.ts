export * from './command-scope.js';
export * from './instrument-command-bus.js';
export * from './metrics.js';
