export { S3Connection, type S3Listed, type S3ObjectInfo, type S3Read, MULTIPART_PART_SIZE } from './connection.js';
export { S3Bucket, type S3Item, SHA256_METADATA } from './bucket.js';
export { s3Driver, type S3Services } from './driver.js';
export { type S3Side, s3Failure } from './failure.js';
export { objectSend } from './object-send.js';
