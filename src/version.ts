import { readFileSync } from 'node:fs';

/** Set by the release build (scripts/dist.mjs), where there is no package.json beside the code. */
declare const __AIRGAP_VERSION__: string | undefined;

/** airgap's own version, recorded in bundle.json `tool`. */
export const toolVersion: string = (() => {
  if (typeof __AIRGAP_VERSION__ === 'string') return `airgap/${__AIRGAP_VERSION__}`;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return `airgap/${pkg.version}`;
  } catch {
    return 'airgap/unknown';
  }
})();

/** True in the single-executable release (scripts/dist.mjs), false when run from the source tree. */
export const releaseBuild: boolean = typeof __AIRGAP_VERSION__ === 'string';
