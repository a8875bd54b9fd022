export * from './document-collection.contract.js';
