export * from './event-transport.contract.js';
