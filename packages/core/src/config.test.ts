import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { schemaOnlyEcosystem } from '../../../test/harness/schema-ecosystem.js';
import { tempDir, writeUnder } from '../../../test/harness/tmp.js';
import { configSchema, loadConfig } from './config.js';
import { EcosystemRegistry, type Ecosystem } from './ecosystem.js';
import { UsageError } from './errors.js';

// Two small ecosystems, only their schemas matter here: this is a unit test of schema composition.
const configSpec = { type: 'object', additionalProperties: false, properties: { ref: { type: 'string' } } };
const fakeEcosystem = (kind: Ecosystem['kind'], manifestKey: string, targetSettingsSchema?: Ecosystem['targetSettingsSchema']): Ecosystem =>
  schemaOnlyEcosystem(kind, manifestKey, { specSchema: configSpec, targetSettingsSchema });

function registry(): EcosystemRegistry {
  return new EcosystemRegistry()
    .register(fakeEcosystem('image', 'images'))
    .register(
      fakeEcosystem('apt', 'apt', {
        apt: {
          type: 'object',
          additionalProperties: false,
          properties: { gpgKey: { type: 'string' }, keyringFile: { type: 'string' }, origin: { type: 'string' } },
        },
      }),
    );
}

let dir: string;
beforeEach(async () => {
  dir = await tempDir('airgap-config-');
});
const write = (rel: string, text: string): Promise<string> => writeUnder(dir, rel, text);

async function failure(opts: { configFile?: string; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<UsageError> {
  const err = await loadConfig({ cwd: dir, env: {}, ...opts, registry: registry() }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UsageError);
  expect((err as UsageError).exitCode).toBe(2);
  return err as UsageError;
}

/** The example of docs/config.md, word for word. */
const SPEC_EXAMPLE = `signingKey: ./keys/outside.key           # pack
trust: [./keys/outside.pub]              # verify/unpack: bundles must be signed by one of these
cache: ~/.cache/airgap                   # pack's content-addressed download cache, reused across runs
ledger: /var/lib/airgap/ledger.jsonl     # unpack appends here
http: { caFile: /etc/pki/corp-ca.pem, proxy: env, retries: 5, timeoutMs: 60000 }
targets:
  nexus:
    type: nexus
    url: https://nexus.corp.internal
    usernameEnv: NEXUS_USER
    passwordEnv: NEXUS_PASSWORD
    repositories: { docker: docker-hosted, helm: helm-hosted, apt: apt-hosted, yum: yum-hosted,
                    pypi: pypi-hosted, npm: npm-hosted, raw: raw-hosted }
    endpoints: { docker: https://nexus.corp.internal:8443 }   # optional per-format override
  plain:
    type: registries                     # standard-protocol servers, no Nexus REST API
    endpoints: { docker: https://harbor.corp.internal, npm: https://verdaccio.corp.internal/ }
  mirror:
    type: dir
    path: /srv/mirror
registries:                              # outside: credentials and transport per upstream host
  registry.example.com: { usernameEnv: REG_USER, passwordEnv: REG_PASSWORD }
  127.0.0.1:5000: { plainHttp: true }
`;

describe('loadConfig', () => {
  it('loads the docs/config.md example from an explicit file and resolves its paths', async () => {
    const file = await write('etc/airgap.yaml', SPEC_EXAMPLE);
    const cfg = await loadConfig({ configFile: file, cwd: dir, env: { HOME: '/home/op' }, registry: registry() });
    expect(cfg.configFile).toBe(file);
    expect(cfg.signingKey).toBe(path.join(dir, 'etc/keys/outside.key'));
    expect(cfg.trust).toEqual([path.join(dir, 'etc/keys/outside.pub')]);
    expect(cfg.cache).toBe('/home/op/.cache/airgap');
    expect(cfg.ledger).toBe('/var/lib/airgap/ledger.jsonl');
    expect(cfg.http).toEqual({ caFile: '/etc/pki/corp-ca.pem', proxy: 'env', retries: 5, timeoutMs: 60000 });
    expect(cfg.targets?.nexus).toMatchObject({ type: 'nexus', url: 'https://nexus.corp.internal', repositories: { raw: 'raw-hosted' } });
    expect(cfg.targets?.plain).toMatchObject({ type: 'registries', endpoints: { npm: 'https://verdaccio.corp.internal/' } });
    expect(cfg.targets?.mirror).toEqual({ type: 'dir', path: '/srv/mirror' });
    expect(cfg.registries).toEqual({
      'registry.example.com': { usernameEnv: 'REG_USER', passwordEnv: 'REG_PASSWORD' },
      '127.0.0.1:5000': { plainHttp: true },
    });
  });

  it('resolves a relative --config against cwd', async () => {
    await write('conf/site.yaml', 'ledger: ledger.jsonl\n');
    const cfg = await loadConfig({ configFile: 'conf/site.yaml', cwd: dir, env: {}, registry: registry() });
    expect(cfg.configFile).toBe(path.join(dir, 'conf/site.yaml'));
    expect(cfg.ledger).toBe(path.join(dir, 'conf/ledger.jsonl'));
  });

  it('finds .airgaprc.yaml from a folder below it and resolves paths against the file’s folder', async () => {
    const file = await write('project/.airgaprc.yaml', 'signingKey: keys/outside.key\ntargets:\n  mirror: { type: dir, path: ../mirror }\n');
    const cwd = path.join(dir, 'project/deep/er');
    await mkdir(cwd, { recursive: true });
    const cfg = await loadConfig({ cwd, env: {}, registry: registry() });
    expect(cfg.configFile).toBe(file);
    expect(cfg.signingKey).toBe(path.join(dir, 'project/keys/outside.key'));
    expect(cfg.targets?.mirror).toEqual({ type: 'dir', path: path.join(dir, 'mirror') });
  });

  it('reads package.json#airgap', async () => {
    const file = await write('package.json', JSON.stringify({ name: 'ops', airgap: { cache: './cache', http: { retries: 2 } } }));
    const cfg = await loadConfig({ cwd: dir, env: {}, registry: registry() });
    expect(cfg).toEqual({ configFile: file, cache: path.join(dir, 'cache'), http: { retries: 2 } });
  });

  it('reads airgap.config.mjs', async () => {
    const file = await write('airgap.config.mjs', "export default { ledger: 'state/ledger.jsonl', trust: ['~/keys/a.pub'] };\n");
    const cfg = await loadConfig({ cwd: dir, env: { HOME: '/home/op' }, registry: registry() });
    expect(cfg).toEqual({ configFile: file, ledger: path.join(dir, 'state/ledger.jsonl'), trust: ['/home/op/keys/a.pub'] });
  });

  it('is empty when no config exists anywhere up from cwd', async () => {
    expect(await loadConfig({ cwd: dir, env: {}, registry: registry() })).toEqual({});
  });

  it('resolves File/Key settings of an ecosystem block in a target, and nothing else in it', async () => {
    const file = await write(
      'airgap.yaml',
      'targets:\n  mirror:\n    type: dir\n    path: /srv/mirror\n    apt: { gpgKey: keys/apt.asc, keyringFile: ~/k.gpg, origin: corp }\n',
    );
    const cfg = await loadConfig({ configFile: file, cwd: dir, env: { HOME: '/home/op' }, registry: registry() });
    expect(cfg.targets?.mirror).toEqual({
      type: 'dir',
      path: '/srv/mirror',
      apt: { gpgKey: path.join(dir, 'keys/apt.asc'), keyringFile: '/home/op/k.gpg', origin: 'corp' },
    });
  });

  it('substitutes ${VAR} and names an unset one with its key path', async () => {
    const file = await write('airgap.yaml', 'targets:\n  nexus: { type: nexus, url: "https://${NEXUS_HOST}" }\nledger: ${STATE}/ledger.jsonl\n');
    const cfg = await loadConfig({ configFile: file, cwd: dir, env: { NEXUS_HOST: 'nexus.corp.internal', STATE: '/var/lib/airgap' }, registry: registry() });
    expect(cfg.targets?.nexus).toEqual({ type: 'nexus', url: 'https://nexus.corp.internal' });
    expect(cfg.ledger).toBe('/var/lib/airgap/ledger.jsonl');

    const err = await failure({ configFile: file, env: { STATE: '/x' } });
    expect(err.message).toBe('airgap.yaml: targets.nexus.url: environment variable NEXUS_HOST is not set (used as ${NEXUS_HOST})');
  });

  it('takes YAML anchors and merge keys, so targets can share settings', async () => {
    const file = await write(
      'airgap.yaml',
      'targets:\n  a: &base { type: nexus, url: https://a.corp.internal, usernameEnv: NEXUS_USER }\n  b: { <<: *base, url: https://b.corp.internal }\n',
    );
    const cfg = await loadConfig({ configFile: file, cwd: dir, env: {}, registry: registry() });
    expect(cfg.targets?.b).toEqual({ type: 'nexus', url: 'https://b.corp.internal', usernameEnv: 'NEXUS_USER' });
  });

  it('names a missing --config file', async () => {
    const err = await failure({ configFile: 'nope.yaml' });
    expect(err.message).toBe('nope.yaml: config file not found');
  });

  it('names a --config that is a folder', async () => {
    await mkdir(path.join(dir, 'conf'));
    const err = await failure({ configFile: 'conf' });
    expect(err.message).toBe('conf: is not a file');
  });

  it('names a JavaScript config that cannot be loaded', async () => {
    await write('airgap.config.mjs', 'export default { ledger: ;\n');
    const err = await failure({});
    expect(err.message).toMatch(/^airgap\.config\.mjs: cannot load the config: /);
  });

  it('names the line and column of a YAML syntax error in a found config', async () => {
    await write('.airgaprc', 'cache: /var/cache/airgap\nhttp: { retries: 5\n');
    const err = await failure({});
    expect(err.message).toMatch(/^\.airgaprc:3:1: YAML syntax error: /);
  });

  it('refuses a literal password with a hint to use passwordEnv', async () => {
    const file = await write('airgap.yaml', 'targets:\n  nexus: { type: nexus, url: https://nexus.corp.internal, username: airgap, password: s3cret }\n');
    const err = await failure({ configFile: file });
    expect(err.message.split('\n')).toEqual([
      'airgap.yaml: targets.nexus.username: credentials are never written in a file: use usernameEnv with the name of an environment variable that holds it',
      'airgap.yaml: targets.nexus.password: credentials are never written in a file: use passwordEnv with the name of an environment variable that holds it',
    ]);
    expect(err.message).not.toContain('s3cret');
  });

  // One UsageError (exit 2) with exactly these problem lines, each naming the file and the key path.
  const TARGET_NAME_WORDS = 'lower-case letters, digits, - and _, starting with a letter or digit (and not dir, which --to dir:PATH uses)';
  it.each([
    [
      'a literal registry token, with a hint to use tokenEnv',
      'registries:\n  registry.example.com: { token: abc }\n',
      ['airgap.yaml: registries["registry.example.com"].token: credentials are never written in a file: use tokenEnv with the name of an environment variable that holds it'],
    ],
    [
      'an unknown target type, naming the known ones',
      'targets:\n  harbor: { type: harbor, url: https://harbor.corp.internal }\n',
      ['airgap.yaml: targets.harbor.type: must be one of: nexus, registries, dir, s3, route'],
    ],
    [
      'a registries target without endpoints, and a target without a type',
      'targets:\n  plain: { type: registries, usernameEnv: REG_USER }\n  untyped: { path: /srv }\n',
      ['airgap.yaml: targets.plain: missing required key endpoints', 'airgap.yaml: targets.untyped: missing required key type'],
    ],
    [
      'an unknown key of a target, naming the keys its type allows, ecosystem blocks included',
      'targets:\n  mirror: { type: dir, path: /srv, url: https://x.corp.internal }\n',
      ['airgap.yaml: targets.mirror.url: unknown key (allowed: type, path, immutableTags, apt)'],
    ],
    [
      'an unknown key in the settings block an ecosystem declares',
      'targets:\n  mirror: { type: dir, path: /srv, apt: { gpgkey: a.asc } }\n',
      ['airgap.yaml: targets.mirror.apt.gpgkey: unknown key (allowed: gpgKey, keyringFile, origin)'],
    ],
    [
      'target names that are not lower-case, and the reserved dir',
      'targets:\n  Corp Nexus: { type: dir, path: /a }\n  dir: { type: dir, path: /b }\n',
      [`airgap.yaml: targets["Corp Nexus"]: this name must be ${TARGET_NAME_WORDS}`, `airgap.yaml: targets.dir: this name must be ${TARGET_NAME_WORDS}`],
    ],
  ])('refuses %s', async (_what, yaml, lines) => {
    const err = await failure({ configFile: await write('airgap.yaml', yaml) });
    expect(err.message.split('\n')).toEqual(lines);
  });

  it('immutableTags is a boolean on nexus, registries and dir targets (docs/oci.md "Moved tags")', async () => {
    const ok = await write('ok.yaml', 'targets:\n  m: { type: dir, path: /srv, immutableTags: true }\n  r: { type: registries, endpoints: { docker: "https://r.corp.internal" }, immutableTags: false }\n');
    const cfg = await loadConfig({ configFile: ok, cwd: dir, env: {}, registry: registry() });
    expect([(cfg.targets!.m as { immutableTags?: boolean }).immutableTags, (cfg.targets!.r as { immutableTags?: boolean }).immutableTags]).toEqual([true, false]);
    const bad = await write('bad.yaml', 'targets:\n  m: { type: dir, path: /srv, immutableTags: "yes" }\n');
    const err = await failure({ configFile: bad });
    expect(err.message).toMatch(/^bad\.yaml: targets\.m\.immutableTags: /);
  });

  it('names wrong types and bad values in operator words, every one', async () => {
    const file = await write(
      'airgap.yaml',
      [
        'trust: ./keys/outside.pub',
        'http: { proxy: socks5://proxy.corp.internal:1080, retries: many, timeoutMs: 0 }',
        'targets:',
        '  nexus: { type: nexus, url: nexus.corp.internal, passwordEnv: "my pass", imageNames: drop-host, repositories: { maven: m } }',
        'registries:',
        '  "https://registry.example.com": { plainHttp: "yes" }',
        'signingkey: a.key',
      ].join('\n'),
    );
    const err = await failure({ configFile: file });
    expect(err.message.split('\n').sort()).toEqual(
      [
        'airgap.yaml: signingkey: unknown key (allowed: signingKey, trust, cache, ledger, recovery, http, targets, registries, s3, notify)',
        'airgap.yaml: trust: must be a list (got a string)',
        'airgap.yaml: http.proxy: must be env, none or an http(s):// proxy URL',
        'airgap.yaml: http.retries: must be a whole number (got a string)',
        'airgap.yaml: http.timeoutMs: must be >= 1',
        'airgap.yaml: targets.nexus.url: must be an http:// or https:// URL',
        'airgap.yaml: targets.nexus.passwordEnv: must be the name of an environment variable (e.g. NEXUS_PASSWORD), never the secret itself',
        'airgap.yaml: targets.nexus.imageNames: must be one of: keep-host, strip-host',
        'airgap.yaml: targets.nexus.repositories.maven: unknown key (allowed: docker, helm, apt, yum, pypi, npm, raw)',
        'airgap.yaml: registries["https://registry.example.com"]: this name must be a host or host:port (e.g. registry.example.com, 127.0.0.1:5000)',
        'airgap.yaml: registries["https://registry.example.com"].plainHttp: must be true or false (got a string)',
      ].sort(),
    );
  });

  it('accepts notify settings and checks them', async () => {
    const ok = await write(
      'ok.yaml',
      'notify:\n  mattermost: { url: "https://chat.corp.internal/hooks/${HOOK}" }\n  smtp: { host: mail.corp.internal, port: 587, from: airgap@corp.internal, to: [ops@corp.internal], starttls: true, passwordEnv: SMTP_PASSWORD }\n',
    );
    const cfg = await loadConfig({ configFile: ok, cwd: dir, env: { HOOK: 'abc' }, registry: registry() });
    expect(cfg.notify?.mattermost?.url).toBe('https://chat.corp.internal/hooks/abc');
    expect(cfg.notify?.smtp?.to).toEqual(['ops@corp.internal']);

    const bad = await write('bad.yaml', 'notify:\n  smtp: { host: mail.corp.internal, port: 99999, from: a@corp.internal, to: [] }\n  slack: { url: https://x.corp.internal }\n');
    const err = await failure({ configFile: bad });
    expect(err.message.split('\n').sort()).toEqual(
      [
        'bad.yaml: notify.slack: unknown key (allowed: mattermost, smtp, zabbix)',
        'bad.yaml: notify.smtp.port: must be <= 65535',
        'bad.yaml: notify.smtp.to: must not be an empty list',
      ].sort(),
    );
  });

  it('accepts S3 connections and s3 targets (caFile resolved against the config folder) and checks them', async () => {
    const ok = await write(
      's3.yaml',
      's3:\n  ceph: { endpoint: "https://rgw.corp.internal", region: kr-1, pathStyle: true, accessKeyEnv: RGW_ACCESS_KEY, secretKeyEnv: RGW_SECRET_KEY, caFile: pki/ca.pem }\ntargets:\n  dr: { type: s3, s3: ceph, bucket: velero-dr, prefix: site-b/ }\n',
    );
    const cfg = await loadConfig({ configFile: ok, cwd: dir, env: {}, registry: registry() });
    expect(cfg.s3?.ceph.caFile).toBe(path.join(dir, 'pki', 'ca.pem'));
    expect(cfg.targets?.dr).toEqual({ type: 's3', s3: 'ceph', bucket: 'velero-dr', prefix: 'site-b/' });

    const bad = await write(
      's3-bad.yaml',
      's3:\n  ceph: { endpoint: "rgw.corp.internal", accessKeyEnv: RGW_ACCESS_KEY, secretKey: hunter22 }\ntargets:\n  dr: { type: s3, s3: ceph, bucket: Velero_DR, prefix: /abs }\n',
    );
    const err = await failure({ configFile: bad });
    expect(err.message.split('\n').sort()).toEqual(
      [
        's3-bad.yaml: s3.ceph.endpoint: must be an http:// or https:// URL',
        's3-bad.yaml: s3.ceph.secretKey: unknown key (allowed: endpoint, region, pathStyle, accessKeyEnv, secretKeyEnv, caFile)',
        's3-bad.yaml: s3.ceph: missing required key secretKeyEnv',
        's3-bad.yaml: targets.dr.bucket: must be an S3 bucket name (3-63 lower-case letters, digits, . and -)',
        's3-bad.yaml: targets.dr.prefix: must be a key prefix ending in / (e.g. dr/), or empty',
      ].sort(),
    );
    expect(err.message).not.toContain('hunter22');
  });

  it('an empty config file is valid and only records where it is', async () => {
    const file = await write('airgap.yaml', '# nothing configured yet\n');
    expect(await loadConfig({ configFile: file, cwd: dir, env: {}, registry: registry() })).toEqual({ configFile: file });
  });
});

describe('configSchema', () => {
  it('lets every target type that publishes hold the settings blocks of the registered ecosystems, and only those', () => {
    const reg = registry();
    const apt = reg.get('apt').targetSettingsSchema!.apt;
    const branches = (schema: any) => schema.properties.targets.additionalProperties.allOf.map((b: any) => b.then);
    const all = branches(configSchema(reg));
    expect(all.map((b: any) => b.properties.type.const)).toEqual(['nexus', 'registries', 'dir', 's3', 'route']);
    // A route target only names other targets: it holds no ecosystem settings of its own.
    expect(all.at(-1).properties.apt).toBeUndefined();
    const withApt = all.slice(0, -1);
    for (const b of withApt) expect(b.properties.apt).toEqual(apt);
    for (const b of branches(configSchema(new EcosystemRegistry()))) expect(b.properties.apt).toBeUndefined();
  });

  it('refuses an ecosystem settings block that would shadow a target key', () => {
    const reg = new EcosystemRegistry().register(fakeEcosystem('npm', 'npm', { endpoints: { type: 'object' } }));
    expect(() => configSchema(reg)).toThrow(/ecosystem npm declares target settings block endpoints, which is already taken/);
  });
});
