import { readFileSync } from 'node:fs';

/** airgap's own version, recorded in bundle.json `tool`. */
export const toolVersion: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return `airgap/${pkg.version}`;
  } catch {
    return 'airgap/unknown';
  }
})();
