export * from './static-server.js';
export * from './cli.js';
export * from './tmp.js';
export * from './reseal.js';
export * from './transfer.js';
export * from './gauge-proxy.js';
export * from './gpgv.js';
export * from './flip.js';
