export * from './facts.js';
export * from './cyclonedx.js';
export * from './spdx.js';
