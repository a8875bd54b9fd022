export * from './api-responses.js';
export * from './http-app.js';
export * from './problem-details.filter.js';
export * from './problem-details.js';
export * from './validation.js';
export * from './query.dto.js';
export * from './decimal-places.js';
export * from './http-metrics.js';
