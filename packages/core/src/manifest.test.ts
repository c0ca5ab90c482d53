import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { schemaOnlyEcosystem } from '../../../test/harness/schema-ecosystem.js';
import { tempDir, writeUnder } from '../../../test/harness/tmp.js';
import { EcosystemRegistry, type Ecosystem } from './ecosystem.js';
import { UsageError } from './errors.js';
import { loadManifest, manifestSchema } from './manifest.js';

// Two small ecosystems, only their schemas matter here: this is a unit test of schema composition.
const fakeEcosystem = (kind: Ecosystem['kind'], manifestKey: string, specSchema: Record<string, unknown>): Ecosystem =>
  schemaOnlyEcosystem(kind, manifestKey, { specSchema });

function registry(): EcosystemRegistry {
  return new EcosystemRegistry()
    .register(
      fakeEcosystem('image', 'images', {
        type: 'object',
        required: ['ref'],
        additionalProperties: false,
        properties: {
          ref: { type: 'string', minLength: 1 },
          platforms: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$' } },
        },
      }),
    )
    .register(
      fakeEcosystem('file', 'files', {
        type: 'object',
        required: ['url'],
        additionalProperties: false,
        properties: {
          url: { type: 'string', pattern: '^https?://' },
          sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          path: { type: 'string' },
          usernameEnv: { type: 'string' },
        },
      }),
    );
}

let dir: string;
beforeEach(async () => {
  dir = await tempDir('airgap-manifest-');
});
const write = (name: string, text: string): Promise<string> => writeUnder(dir, name, text);

/** Load and return the UsageError it must fail with. */
async function failure(file: string, env: NodeJS.ProcessEnv = {}): Promise<UsageError> {
  const err = await loadManifest(file, registry(), env).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UsageError);
  expect((err as UsageError).exitCode).toBe(2);
  return err as UsageError;
}

const VALID = `apiVersion: airgap/v1
kind: Bundle
name: platform-base
images:
  - ref: docker.io/library/nginx:1.27
    platforms: [linux/amd64, linux/arm64]
  - ref: registry.k8s.io/pause:3.10
files:
  - url: https://downloads.example.com/velero-v1.14.1-linux-amd64.tar.gz
    path: velero/
`;

describe('loadManifest', () => {
  it('loads a valid YAML manifest with its sections, file and folder', async () => {
    const file = await write('manifest.yaml', VALID);
    const m = await loadManifest(file, registry(), {});
    expect(m.name).toBe('platform-base');
    expect(m.apiVersion).toBe('airgap/v1');
    expect(m.kind).toBe('Bundle');
    expect(m.file).toBe(file);
    expect(m.dir).toBe(dir);
    expect(m.sections.images).toEqual([
      { ref: 'docker.io/library/nginx:1.27', platforms: ['linux/amd64', 'linux/arm64'] },
      { ref: 'registry.k8s.io/pause:3.10' },
    ]);
    expect(m.sections.files).toHaveLength(1);
  });

  it('loads the same manifest written as JSON', async () => {
    const file = await write(
      'manifest.json',
      JSON.stringify({ apiVersion: 'airgap/v1', kind: 'Bundle', name: 'from-json', files: [{ url: 'https://downloads.example.com/a.tgz' }] }),
    );
    const m = await loadManifest(file, registry(), {});
    expect(m.name).toBe('from-json');
    expect(m.sections).toEqual({ files: [{ url: 'https://downloads.example.com/a.tgz' }] });
  });

  it('names the file, line and column of a YAML syntax error', async () => {
    const file = await write('manifest.yaml', 'apiVersion: airgap/v1\nkind: Bundle\nimages:\n  - ref: [a, b\nname: x\n');
    const err = await failure(file);
    expect(err.message).toMatch(new RegExp(`^${escape(file)}:5:1: YAML syntax error: `));
  });

  it('refuses a YAML alias bomb instead of expanding it', async () => {
    const levels = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${Array(10).fill('*' + prev).join(', ')}]`);
    }
    const file = await write('bomb.yaml', levels.join('\n') + '\n');
    const err = await failure(file);
    expect(err.message).toBe(`${file}: YAML too many alias expansions (*name)`);
  });

  it('refuses a file of several YAML documents', async () => {
    const file = await write('manifest.yaml', VALID + '---\n' + VALID);
    const err = await failure(file);
    expect(err.message).toBe(`${file}:11:1: YAML syntax error: a second YAML document starts here (---): put one manifest or config in a file`);
  });

  it('refuses a duplicated key as a syntax error with its line', async () => {
    const file = await write('manifest.yaml', 'apiVersion: airgap/v1\nkind: Bundle\nname: a\nname: b\n');
    const err = await failure(file);
    expect(err.message).toContain(`${file}:4:1: YAML syntax error: a key appears twice in the same mapping`);
  });

  it('names an unknown top-level key with the allowed keys', async () => {
    const file = await write('manifest.yaml', VALID + 'imagez: []\n');
    const err = await failure(file);
    expect(err.message).toBe(`${file}: imagez: unknown key (allowed: apiVersion, kind, name, tool, images, files, policy)`);
  });

  it('names an unknown nested key with its path and the allowed keys', async () => {
    const file = await write('manifest.yaml', VALID.replace('    platforms: [linux/amd64, linux/arm64]', '    platfroms: [linux/amd64]'));
    const err = await failure(file);
    expect(err.message).toBe(`${file}: images[0].platfroms: unknown key (allowed: ref, platforms)`);
  });

  it('names the path and the expected type of a value of the wrong type', async () => {
    const file = await write('manifest.yaml', VALID.replace('[linux/amd64, linux/arm64]', 'linux/amd64'));
    const err = await failure(file);
    expect(err.message).toBe(`${file}: images[0].platforms: must be a list (got a string)`);
  });

  it('reports a __proto__ key as unknown rather than letting it set the prototype', async () => {
    const file = await write('manifest.yaml', VALID + '__proto__: { polluted: true }\nconstructor: x\n');
    const err = await failure(file);
    expect(err.message.split('\n')).toEqual([
      `${file}: __proto__: unknown key (allowed: apiVersion, kind, name, tool, images, files, policy)`,
      `${file}: constructor: unknown key (allowed: apiVersion, kind, name, tool, images, files, policy)`,
    ]);
  });

  it('says a section must be a list', async () => {
    const file = await write('manifest.yaml', 'apiVersion: airgap/v1\nkind: Bundle\nname: a\nfiles:\n  url: https://x.example.com/a\n');
    const err = await failure(file);
    expect(err.message).toBe(`${file}: files: must be a list (got a mapping)`);
  });

  it('names a missing required key of an entry', async () => {
    const file = await write('manifest.yaml', VALID + '  - path: a/\n  - sha256: ' + 'ab'.repeat(32) + '\n');
    const err = await failure(file);
    expect(err.message.split('\n')).toEqual([`${file}: files[1]: missing required key url`, `${file}: files[2]: missing required key url`]);
  });

  it('checks the bundle name pattern', async () => {
    const file = await write('manifest.yaml', VALID.replace('name: platform-base', 'name: Platform_Base'));
    const err = await failure(file);
    expect(err.message).toBe(`${file}: name: must match ^[a-z0-9][a-z0-9-]*$`);
  });

  it('checks apiVersion and kind, and lists every problem on its own line', async () => {
    const file = await write('manifest.yaml', 'apiVersion: airgap/v2\nkind: Bundel\nimages:\n  - {}\n');
    const err = await failure(file);
    expect(err.message.split('\n').sort()).toEqual(
      [
        `${file}: missing required key name`,
        `${file}: apiVersion: must be airgap/v1`,
        `${file}: kind: must be Bundle`,
        `${file}: images[0]: missing required key ref`,
      ].sort(),
    );
  });

  it('substitutes ${VAR} from the environment and keeps $${VAR} literal', async () => {
    const file = await write(
      'manifest.yaml',
      'apiVersion: airgap/v1\nkind: Bundle\nname: ${BUNDLE}-x\nfiles:\n  - url: https://${HOST}/a.tgz\n    path: $${NOT_A_VAR}/\n',
    );
    const m = await loadManifest(file, registry(), { BUNDLE: 'nightly', HOST: 'downloads.example.com' });
    expect(m.name).toBe('nightly-x');
    expect(m.sections.files).toEqual([{ url: 'https://downloads.example.com/a.tgz', path: '${NOT_A_VAR}/' }]);
  });

  it('names an unset variable and the key path that uses it', async () => {
    const file = await write('manifest.yaml', VALID.replace('registry.k8s.io/pause:3.10', '${MIRROR_HOST}/pause:3.10'));
    const err = await failure(file, {});
    expect(err.message).toBe(`${file}: images[1].ref: environment variable MIRROR_HOST is not set (used as \${MIRROR_HOST})`);
  });

  it('takes variables only from the environment itself, not from Object.prototype', async () => {
    const file = await write('manifest.yaml', VALID.replace('path: velero/', 'path: ${constructor}/'));
    const err = await failure(file, {});
    expect(err.message).toBe(`${file}: files[0].path: environment variable constructor is not set (used as \${constructor})`);
  });

  it('refuses a malformed variable reference', async () => {
    const file = await write('manifest.yaml', VALID.replace('path: velero/', 'path: ${not valid}/'));
    const err = await failure(file);
    expect(err.message).toContain(`${file}: files[0].path: \${not valid} is not a valid variable reference`);
  });

  it('names a section this build has no ecosystem for', async () => {
    const file = await write('manifest.yaml', VALID + 'charts:\n  - ref: oci://registry.example.com/charts/redis:20.0.0\n');
    const err = await failure(file);
    expect(err.message).toBe(`${file}: charts: this airgap build has no charts support yet`);
  });

  it('refuses a manifest without entries', async () => {
    const file = await write('manifest.yaml', 'apiVersion: airgap/v1\nkind: Bundle\nname: empty\nimages: []\n');
    const err = await failure(file);
    expect(err.message).toBe(`${file}: no entries: list what to mirror under images, files`);
  });

  it('refuses an empty file and a file that is not a mapping', async () => {
    const empty = await write('empty.yaml', '# nothing yet\n');
    expect((await failure(empty)).message).toBe(`${empty}: the manifest is empty`);
    const list = await write('list.yaml', '- a\n- b\n');
    expect((await failure(list)).message).toBe(`${list}: must be a mapping (key: value) (got a list)`);
  });

  it('refuses a literal credential with a hint to use the environment', async () => {
    const file = await write('manifest.yaml', VALID.replace('    path: velero/', '    path: velero/\n    password: hunter2'));
    const err = await failure(file);
    expect(err.message).toBe(`${file}: files[0].password: credentials are never written in a file: use passwordEnv with the name of an environment variable that holds it`);
    expect(err.message).not.toContain('hunter2');
  });

  it('names a manifest file that does not exist', async () => {
    const file = path.join(dir, 'missing.yaml');
    const err = await failure(file);
    expect(err.message).toBe(`${file}: cannot read the manifest: no such file`);
  });

  it('names files relative to the working directory', async () => {
    await write('manifest.yaml', VALID.replace('name: platform-base', 'name: -bad'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const err = await failure('manifest.yaml');
      expect(err.message).toBe('manifest.yaml: name: must match ^[a-z0-9][a-z0-9-]*$');
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('loadManifest with an entry of several forms', () => {
  const charts = fakeEcosystem('chart', 'charts', {
    type: 'object',
    oneOf: [
      {
        required: ['repo', 'name'],
        additionalProperties: false,
        properties: { repo: { type: 'string' }, name: { type: 'string' }, version: { type: 'string' }, images: { type: 'boolean' } },
      },
      { required: ['ref'], additionalProperties: false, properties: { ref: { type: 'string', pattern: '^oci://' } } },
    ],
  });
  const reg = () => new EcosystemRegistry().register(charts);

  it('reports the errors of the form the entry came closest to', async () => {
    const file = await write('manifest.yaml', 'apiVersion: airgap/v1\nkind: Bundle\nname: c\ncharts:\n  - ref: oci://registry.example.com/charts/redis:20.0.0\n    images: true\n  - repo: https://charts.example.com/stable\n    version: "1.x"\n');
    const err = await loadManifest(file, reg(), {}).catch((e: UsageError) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as UsageError).message.split('\n')).toEqual([
      `${file}: charts[0].images: unknown key (allowed: ref)`,
      `${file}: charts[1]: missing required key name`,
    ]);
  });

  it('accepts each form', async () => {
    const file = await write('manifest.yaml', 'apiVersion: airgap/v1\nkind: Bundle\nname: c\ncharts:\n  - ref: oci://registry.example.com/charts/redis:20.0.0\n  - { repo: https://charts.example.com/stable, name: ingress-nginx }\n');
    expect((await loadManifest(file, reg(), {})).sections.charts).toHaveLength(2);
  });
});

describe('loadManifest with formats in an entry schema', () => {
  it('checks `format` keywords instead of refusing the schema', async () => {
    const reg = new EcosystemRegistry().register(
      fakeEcosystem('pypi', 'pypi', { type: 'object', additionalProperties: false, properties: { index: { type: 'string', format: 'uri' } } }),
    );
    const good = await write('good.yaml', 'apiVersion: airgap/v1\nkind: Bundle\nname: p\npypi:\n  - index: https://pypi.example.com/simple\n');
    expect((await loadManifest(good, reg, {})).sections.pypi).toHaveLength(1);
    const bad = await write('bad.yaml', 'apiVersion: airgap/v1\nkind: Bundle\nname: p\npypi:\n  - index: not a uri\n');
    const err = await loadManifest(bad, reg, {}).catch((e: UsageError) => e);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as UsageError).message).toBe(`${bad}: pypi[0].index: must be a valid uri`);
  });
});

describe('manifestSchema', () => {
  it('has one list per registered ecosystem, its items that ecosystem’s entry schema', () => {
    const reg = registry();
    const schema = manifestSchema(reg) as { properties: Record<string, { type: string; items: { $ref: string } }>; $defs: Record<string, unknown> };
    expect(schema.properties.images).toMatchObject({ type: 'array', items: { $ref: '#/$defs/images' } });
    expect(schema.properties.files).toMatchObject({ type: 'array', items: { $ref: '#/$defs/files' } });
    expect(schema.$defs.images).toBe(reg.forManifestKey('images')!.specSchema);
    expect(schema.properties.charts).toBeUndefined();
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
