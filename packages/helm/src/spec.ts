import { basicAuthEnvKeys, closedObject, patterned } from '@airgap/core';

/** One entry of the manifest's `charts:` section (docs/manifest.md): a chart of an HTTP repository or an OCI chart. */
export type ChartSpec = HttpChartSpec | OciChartSpec;

interface ImageChoices {
  /** Also carry the images the chart declares (Chart.yaml annotation, values.yaml image blocks, subcharts). */
  images?: boolean;
  /** Images to carry besides the ones found (`[registry/]repository[:tag][@sha256:…]`). */
  extraImages?: string[];
  /** Found images to leave out: an exact reference, or a repository (every tag of it). */
  excludeImages?: string[];
}

export interface HttpChartSpec extends ImageChoices {
  /** Base URL of the repository (the folder holding index.yaml). */
  repo: string;
  name: string;
  /** Exact version or a semver range; the newest match wins. Default: the newest stable version. */
  version?: string;
  /** Let a range match prerelease versions (a range that names a prerelease matches those of its own version anyway). */
  prerelease?: boolean;
  /** Names of environment variables with Basic credentials for the repository (sent only to its host). */
  usernameEnv?: string;
  passwordEnv?: string;
  /** OpenPGP keyring (binary, `gpg --export`): the chart's .prov must be signed by a key in it (docs/helm.md). */
  keyring?: string;
}

export interface OciChartSpec extends ImageChoices {
  /** `oci://registry/path/name:version` (Helm's form; `+` in the version is `_` in the tag). */
  ref: string;
}

export function isOciSpec(s: ChartSpec): s is OciChartSpec {
  return typeof (s as OciChartSpec).ref === 'string';
}

const imageChoices = {
  images: { type: 'boolean', default: false, description: 'also carry the images the chart declares (docs/helm.md)' },
  extraImages: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true, description: 'images to carry besides the ones found' },
  excludeImages: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true, description: 'found images to leave out: an exact reference or a repository' },
};

export const chartSpecSchema = {
  oneOf: [
    closedObject(
      {
        repo: patterned('^https?://', 'an http:// or https:// repository URL', 'Helm repository URL (the folder of index.yaml)'),
        name: patterned('^[A-Za-z0-9][A-Za-z0-9._-]*$', 'a chart name', 'chart name in the repository index'),
        version: { type: 'string', minLength: 1, description: 'exact version or semver range (newest match); default the newest stable version' },
        prerelease: { type: 'boolean', default: false, description: 'let a range match prerelease versions' },
        ...basicAuthEnvKeys('the repository'),
        keyring: { type: 'string', minLength: 1, description: 'OpenPGP keyring (binary, gpg --export) the .prov provenance must be signed with; relative to the manifest' },
        ...imageChoices,
      },
      ['repo', 'name'],
    ),
    closedObject(
      { ref: patterned('^oci://[^\\s]+:[^\\s/]+$', 'an oci://registry/path/name:version reference', 'OCI chart reference with its version as tag'), ...imageChoices },
      ['ref'],
    ),
  ],
} as const;
