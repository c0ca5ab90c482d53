/**
 * Core metadata (the wheel's `METADATA`, an sdist's `PKG-INFO`, PEP 658 `.metadata` files): RFC 822
 * style headers, one field per line, continuation lines indented, multiple-use fields repeated; the
 * body after the first blank line is the description (metadata 2.1+).
 */
export interface CoreMetadata {
  /** Every header, lower-cased name → values in order. */
  fields: Map<string, string[]>;
  description?: string;
}

export function parseCoreMetadata(text: string): CoreMetadata {
  const fields = new Map<string, string[]>();
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let i = 0;
  let last: { key: string; index: number } | undefined;
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') break;
    if (/^[ \t]/.test(line) && last) {
      const values = fields.get(last.key)!;
      values[last.index] += '\n' + line.replace(/^ {7}\|/, '').replace(/^\s+/, '');
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const values = fields.get(key) ?? [];
    values.push(value);
    fields.set(key, values);
    last = { key, index: values.length - 1 };
  }
  const body = lines.slice(i + 1).join('\n');
  return { fields, description: body.trim() ? body : fields.get('description')?.[0] };
}

export function field(md: CoreMetadata, name: string): string | undefined {
  return md.fields.get(name.toLowerCase())?.[0];
}

export function fieldAll(md: CoreMetadata, name: string): string[] {
  return md.fields.get(name.toLowerCase()) ?? [];
}

/**
 * The form fields twine sends for a file (twine `package.py` `metadata_dictionary`, warehouse
 * `legacy.rst`): core-metadata fields in lower case with `_`. The description is left out of the
 * artifact record to keep the bundle index small; the publish half reads it from the `.metadata` blob.
 */
const TWINE_SINGLE: Record<string, string> = {
  'metadata-version': 'metadata_version', summary: 'summary', 'home-page': 'home_page', author: 'author',
  'author-email': 'author_email', maintainer: 'maintainer', 'maintainer-email': 'maintainer_email', license: 'license',
  keywords: 'keywords', 'download-url': 'download_url', 'requires-python': 'requires_python',
  'description-content-type': 'description_content_type', 'license-expression': 'license_expression',
};
const TWINE_MULTI: Record<string, string> = {
  classifier: 'classifiers', platform: 'platform', 'supported-platform': 'supported_platform', 'requires-dist': 'requires_dist',
  'provides-dist': 'provides_dist', 'obsoletes-dist': 'obsoletes_dist', 'requires-external': 'requires_external',
  'project-url': 'project_urls', 'provides-extra': 'provides_extras', dynamic: 'dynamic', 'license-file': 'license_files',
};

export function twineFields(md: CoreMetadata, withDescription: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, f] of Object.entries(TWINE_SINGLE)) {
    const v = field(md, k);
    if (v !== undefined) out[f] = v;
  }
  for (const [k, f] of Object.entries(TWINE_MULTI)) {
    const v = fieldAll(md, k);
    if (v.length) out[f] = v;
  }
  if (withDescription && md.description) out.description = md.description;
  return out;
}
