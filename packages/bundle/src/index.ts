export * from './minisign.js';
export * from './format.js';
export type { PartInfo } from './parts.js';
export { partName } from './parts.js';
export * from './writer.js';
export * from './verify.js';
export { BlobReader } from './blob-reader.js';
export type { BlobLocation, PartLocation } from './blob-reader.js';
