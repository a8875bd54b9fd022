export * from './app-config.js';
export * from './config-loader.js';
