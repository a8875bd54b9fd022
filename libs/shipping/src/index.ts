export * from './shipping.module.js';
