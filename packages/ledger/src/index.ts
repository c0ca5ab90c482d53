export * from './ledger.js';
export * from './lines.js';
export * from './verify.js';
export * from './show.js';
export * from './receipt.js';
export * from './lock.js';
export * from './head.js';
export * from './intents.js';
