import type { Ecosystem } from '@airgap/core';
import { imageSource } from './source.js';
import { imageEndpointPublisher } from './endpoint-publish.js';
import { imageDirPublisher } from './dir-publish.js';
import { type ImageSpec, imageSpecSchema } from './spec.js';
import { validateImage } from './validate.js';
import { imageBom, imagePolicy } from './bom.js';

export type { ImageSpec } from './spec.js';
export type { ImageMeta } from './source.js';
export { imageSource, selectPlatforms } from './source.js';
export { imageEndpointPublisher } from './endpoint-publish.js';
export { imageDirPublisher } from './dir-publish.js';
export { RegistryClient, parseChallenge, type RegistryCredentials } from './registry.js';
export { listTags } from './tags-list.js';
export { selectTags, type TagSelection } from './tag-select.js';
export { sourceClient, targetClient, credentialsFromConfig } from './clients.js';
export { parseImageRef, formatRef, targetRepository, apiHost, isLoopbackHost, type ImageRef, type ImageNames } from './reference.js';
export * from './media.js';
export { SIMPLE_SIGNING_MEDIA_TYPE, COSIGN_SIGNATURE_ANNOTATION } from './cosign.js';

/** OCI images (docs/manifest.md `images`): pulled from registries, carried in the bundle's OCI layout, pushed to a registry or `oci/`. */
export const images: Ecosystem<ImageSpec> = {
  kind: 'image',
  manifestKey: 'images',
  specSchema: imageSpecSchema,
  source: imageSource,
  validate: validateImage,
  checkPolicy: imagePolicy,
  bom: imageBom,
  publish: { dir: imageDirPublisher, endpoint: imageEndpointPublisher },
};
export { validateImage } from './validate.js';
