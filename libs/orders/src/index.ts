export * from './orders.module.js';
