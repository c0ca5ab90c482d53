export { startServer, type ServeOptions, type RunningServer, type AccessRecord } from './server.js';
export { MirrorRoot, pathSegments, UnsafePath } from './confined.js';
export { mirrorRepository } from './oci.js';
export { wantsJson } from './pypi.js';
export { parseListen } from './listen.js';
export { planFromMirror, planFromTarget, writeClientConfig, type TargetPlanOptions } from './client-config/plan.js';
export { renderClientFiles, type ClientPlan, type ClientFile } from './client-config/render.js';
