export * from './inventory.module.js';
