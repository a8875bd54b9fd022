export * from './__context__.module.js';
