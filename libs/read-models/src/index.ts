export * from './document-collection.js';
export * from './in-memory-document-collection.js';
export * from './projection.js';
export * from './read-models.module.js';
export * from './wait-for-version.js';
export * from './mongo/mongo-read-model-store.js';
export * from './mongo/read-model-entity-schema.js';
export * from './mongo/read-store-errors.js';
