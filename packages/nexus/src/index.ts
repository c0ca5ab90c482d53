export { nexusDriver, registriesDriver, type EndpointServices } from './driver.js';
export {
  type NexusApi, type NexusApiOptions, type NexusAsset, type NexusRepository, type AssetQuery, type WritePolicy,
  createNexusApi, normalizeSha256,
} from './api.js';
export { type UploadPart, type MultipartBody, multipartBody } from './multipart.js';
export { type FailureContext, TargetHttpError, describeFailure, targetFailure, serverMessage, isRedeployRefusal } from './failure.js';
export { type RepositoryNeed, NEXUS_FORMAT, preflight, preflightProblems } from './preflight.js';
export { type TargetAuth, nexusEndpoints, registriesTargetEndpoints, targetAuth, checkTransport, withSlash } from './endpoints.js';
export { type HostedAsset, type PushOutcome, hostedAsset, assetPresence, putAsset, pushUnderLimit, storedSha256, assetConflict, assetFailureContext } from './hosted-asset.js';
