/** One entry of the manifest's `files:` section (SPEC §3). */
export interface FileSpec {
  /** `https://`, `http://`, `file://` URL, or a local path (relative to the manifest). */
  url: string;
  /** Expected sha256 (hex). Optional but recommended: a mismatch fails the pack. */
  sha256?: string;
  /** Where it lands under `files/` (raw repository / dir mirror). Ending in `/`: a folder, the URL's file name is kept. */
  path?: string;
}

export const fileSpecSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: {
    url: { type: 'string', minLength: 1, description: 'https://, http://, file:// URL or a local path relative to the manifest' },
    sha256: { type: 'string', pattern: '^[A-Fa-f0-9]{64}$', description: 'expected sha256 of the file (hex)' },
    path: { type: 'string', minLength: 1, description: 'where the file lands under files/; a trailing / keeps the URL file name' },
  },
} as const;
