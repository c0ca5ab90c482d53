import os from 'node:os';
import path from 'node:path';
import { cosmiconfig, defaultLoaders, type Loader } from 'cosmiconfig';
import { ENDPOINT_FORMATS, type AirgapConfig } from './config-types.js';
import { InternalError, UsageError, isAirgapError } from './errors.js';
import { assertReadableFile, searchConfig } from './config-search.js';
import { S3_NAME_PATTERN, closedObject, envNameSchema, s3ConnectionName } from './schema-parts.js';
import type { EcosystemRegistry } from './ecosystem.js';
import { EXPECTED_KEYWORD, SCHEMA_DRAFT, displayPath, isPlainObject, parseYaml, refuseProblems, substituteAndValidate } from './document.js';

export const CONFIG_SCHEMA_ID = 'urn:airgap:schema:config:v1';

export const TARGET_NAME_PATTERN = '^(?!dir$)[a-z0-9][a-z0-9_-]*$';

const httpUrl = { type: 'string', pattern: '^https?://[^\\s/]+\\S*$', [EXPECTED_KEYWORD]: 'an http:// or https:// URL' };
const filePath = { type: 'string', minLength: 1 };
const imageNames = {
  enum: ['keep-host', 'strip-host'],
  description: 'keep-host (default): <endpoint>/docker.io/library/nginx; strip-host: <endpoint>/library/nginx.',
};

function formatMap(value: object, description: string): object {
  return {
    type: 'object',
    description,
    additionalProperties: false,
    properties: Object.fromEntries(ENDPOINT_FORMATS.map((f) => [f, value])),
  };
}

const immutableTags = {
  type: 'boolean',
  description: 'true: an OCI tag that points to another digest at the target is not moved; the image fails (unpack exit 4), naming the tag and both digests. Default false: moved, as docker push does, and recorded in the ledger with the previous digest.',
};

const BUILTIN_TARGET_KEYS = new Set(['type', 'url', 'usernameEnv', 'passwordEnv', 'repositories', 'endpoints', 'imageNames', 'immutableTags', 'path', 's3', 'bucket', 'prefix']);

/** An S3 bucket name as S3 and Ceph RGW accept it (3-63 characters, no upper case, no `_`). */
export const S3_BUCKET_PATTERN = '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$';


/**
 * The `targets.<name>.<block>` settings the loaded ecosystems accept (their `targetSettingsSchema`).
 * loadConfig loads the ecosystems whose blocks the config uses; a block nobody declares stays unknown.
 */
function ecosystemTargetSettings(registry: EcosystemRegistry): Record<string, Record<string, unknown>> {
  const blocks: Record<string, Record<string, unknown>> = {};
  for (const eco of registry.loaded()) {
    for (const [name, schema] of Object.entries(eco.targetSettingsSchema ?? {})) {
      if (BUILTIN_TARGET_KEYS.has(name) || blocks[name]) {
        throw new InternalError(`ecosystem ${eco.kind} declares target settings block ${name}, which is already taken`);
      }
      blocks[name] = schema;
    }
  }
  return blocks;
}

/** The config schema of docs/config.md, with the target settings blocks of the loaded ecosystems (all of them: `await registry.load('all')`). */
export function configSchema(registry: EcosystemRegistry): object {
  const settings = ecosystemTargetSettings(registry);
  const nexus = closedObject(
    {
      type: { const: 'nexus' },
      url: { ...httpUrl, description: 'Base URL of Nexus; each format is published to <url>/repository/<repository>/.' },
      usernameEnv: envNameSchema,
      passwordEnv: envNameSchema,
      repositories: formatMap(
        { type: 'string', pattern: '^[A-Za-z0-9._-]+$', [EXPECTED_KEYWORD]: 'a Nexus repository name' },
        'Hosted repository per format.',
      ),
      endpoints: formatMap(httpUrl, 'Per-format override of the URL derived from url + repositories (e.g. a Docker connector port).'),
      imageNames,
      immutableTags,
      ...settings,
    },
    ['type', 'url'],
  );
  const registries = closedObject(
    {
      type: { const: 'registries' },
      endpoints: { ...formatMap(httpUrl, 'Per format, a server that speaks its standard protocol.'), minProperties: 1 },
      usernameEnv: envNameSchema,
      passwordEnv: envNameSchema,
      imageNames,
      immutableTags,
      ...settings,
    },
    ['type', 'endpoints'],
  );
  const dir = closedObject({ type: { const: 'dir' }, path: { ...filePath, description: 'Root of the directory mirror.' }, immutableTags, ...settings }, ['type', 'path']);
  const s3 = closedObject(
    {
      type: { const: 's3' },
      s3: { ...s3ConnectionName, description: 'The S3 connection (config s3.<name>) the bucket is reached through.' },
      bucket: { type: 'string', pattern: S3_BUCKET_PATTERN, [EXPECTED_KEYWORD]: 'an S3 bucket name (3-63 lower-case letters, digits, . and -)' },
      prefix: {
        type: 'string',
        pattern: '^([^/\\s][^\\s]*/)?$',
        [EXPECTED_KEYWORD]: 'a key prefix ending in / (e.g. dr/), or empty',
        description: 'Prepended to every object key; each file lands at <prefix><path>.',
      },
      ...settings,
    },
    ['type', 's3', 'bucket'],
  );
  const kindNames = registry.declarations().flatMap((e) => [e.kind, e.manifestKey]);
  const route = closedObject(
    {
      type: { const: 'route' },
      routes: {
        type: 'object',
        minProperties: 1,
        description: 'Per artifact kind or manifest section (images, npm, …), the name of another target; default: for every other kind.',
        propertyNames: { enum: [...new Set([...kindNames, 'default'])] },
        additionalProperties: { type: 'string', minLength: 1 },
      },
    },
    ['type', 'routes'],
  );
  const byType = { nexus, registries, dir, s3, route };
  const target = {
    type: 'object',
    required: ['type'],
    properties: { type: { enum: Object.keys(byType) } },
    allOf: Object.entries(byType).map(([type, then]) => ({ if: { required: ['type'], properties: { type: { const: type } } }, then })),
  };

  return {
    $schema: SCHEMA_DRAFT,
    $id: CONFIG_SCHEMA_ID,
    title: 'airgap configuration',
    description: 'Settings for every airgap command. See docs/config.md.',
    type: 'object',
    additionalProperties: false,
    properties: {
      $schema: { type: 'string', description: 'Optional: where editors find this schema.' },
      signingKey: { ...filePath, description: 'Secret key that pack signs bundles with.' },
      trust: { type: 'array', minItems: 1, items: filePath, description: 'Public keys a bundle must be signed by one of (verify, unpack).' },
      cache: { ...filePath, description: "pack's content-addressed download cache." },
      ledger: { ...filePath, description: 'Import ledger that unpack appends to.' },
      recovery: {
        type: ['string', 'number'],
        pattern: '^\\s*\\d+(\\.\\d+)?\\s*%?\\s*$',
        [EXPECTED_KEYWORD]: 'a percentage such as 10%',
        description: 'pack --recovery default: PAR2 recovery data as a percentage of the parts (docs/transfer.md).',
      },
      http: {
        type: 'object',
        additionalProperties: false,
        properties: {
          caFile: { ...filePath, description: 'PEM file of extra CAs; TLS verification is always on.' },
          proxy: {
            type: 'string',
            pattern: '^(env|none|https?://\\S+)$',
            [EXPECTED_KEYWORD]: 'env, none or an http(s):// proxy URL',
          },
          retries: { type: 'integer', minimum: 0, maximum: 100 },
          timeoutMs: { type: 'integer', minimum: 1 },
        },
      },
      targets: {
        type: 'object',
        propertyNames: {
          pattern: TARGET_NAME_PATTERN,
          [EXPECTED_KEYWORD]: 'lower-case letters, digits, - and _, starting with a letter or digit (and not dir, which --to dir:PATH uses)',
        },
        additionalProperties: target,
      },
      registries: {
        type: 'object',
        description: 'Credentials and transport per upstream registry host[:port].',
        propertyNames: {
          pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*)(:[0-9]{1,5})?$',
          [EXPECTED_KEYWORD]: 'a host or host:port (e.g. registry.example.com, 127.0.0.1:5000)',
        },
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          properties: { usernameEnv: envNameSchema, passwordEnv: envNameSchema, tokenEnv: envNameSchema, plainHttp: { type: 'boolean' } },
        },
      },
      s3: {
        type: 'object',
        description: 'S3 services (Ceph RGW, MinIO, AWS) that files tree sources and s3 targets name (docs/backups.md).',
        propertyNames: { pattern: S3_NAME_PATTERN, [EXPECTED_KEYWORD]: 'lower-case letters, digits, - and _' },
        additionalProperties: {
          type: 'object',
          required: ['endpoint', 'accessKeyEnv', 'secretKeyEnv'],
          additionalProperties: false,
          properties: {
            endpoint: { ...httpUrl, description: 'The service URL, e.g. https://rgw.corp.internal; http:// only on loopback or with registries.<host:port>.plainHttp.' },
            region: { type: 'string', pattern: '^[a-z0-9-]+$', description: 'SigV4 signing region (default us-east-1; Ceph RGW takes any).' },
            pathStyle: { type: 'boolean', description: 'Path-style addressing (host/bucket/key); default true, as RGW and MinIO expect.' },
            accessKeyEnv: envNameSchema,
            secretKeyEnv: envNameSchema,
            caFile: { ...filePath, description: 'PEM file of the CA of the endpoint certificate; TLS verification is always on.' },
          },
        },
      },
      notify: {
        type: 'object',
        description: 'Where cron runs report (mattermost webhook, e-mail).',
        additionalProperties: false,
        properties: {
          mattermost: { type: 'object', required: ['url'], additionalProperties: false, properties: { url: httpUrl } },
          smtp: {
            type: 'object',
            required: ['host', 'port', 'from', 'to'],
            additionalProperties: false,
            properties: {
              host: { type: 'string', minLength: 1 },
              port: { type: 'integer', minimum: 1, maximum: 65535 },
              from: { type: 'string', minLength: 1 },
              to: { type: ['string', 'array'], minLength: 1, minItems: 1, items: { type: 'string', minLength: 1 } },
              starttls: { type: 'boolean' },
              usernameEnv: envNameSchema,
              passwordEnv: envNameSchema,
            },
          },
          zabbix: {
            type: 'object',
            description: 'Send each run\'s outcome to a Zabbix server as trapper values (docs/monitoring.md).',
            required: ['server', 'host'],
            additionalProperties: false,
            properties: {
              server: {
                type: 'string',
                pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*)(:[0-9]{1,5})?$',
                [EXPECTED_KEYWORD]: 'a host or host:port of the Zabbix server or proxy (default port 10051)',
              },
              host: { type: 'string', minLength: 1, maxLength: 128, description: 'the host name as configured in Zabbix (Hostname of the monitored host)' },
              tls: {
                type: 'object',
                required: ['pskIdentity', 'pskFile'],
                additionalProperties: false,
                properties: {
                  pskIdentity: { type: 'string', minLength: 1, maxLength: 128 },
                  pskFile: { type: 'string', minLength: 1, description: 'file holding the pre-shared key as hex (as zabbix_sender --tls-psk-file)' },
                },
              },
            },
          },
        },
      },
    },
  };
}

export interface LoadConfigOptions {
  /** `--config FILE`; without it the config is searched from `cwd` up (cosmiconfig, module name `airgap`). */
  configFile?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  registry: EcosystemRegistry;
}

/**
 * Find, read, substitute, validate and normalise the config (docs/config.md). No config anywhere is `{}`: every
 * setting has a default. Problems are one UsageError (exit 2), one line per problem with its key path.
 */
export async function loadConfig(opts: LoadConfigOptions): Promise<AirgapConfig> {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const env = opts.env ?? process.env;
  const labelOf = (file: string): string => displayPath(file, cwd) + (path.basename(file) === 'package.json' ? '#airgap' : '');
  // An empty document must be `undefined`: cosmiconfig takes `null` for "no config here".
  const yamlLoader: Loader = (file, content) => parseYaml(content, displayPath(file, cwd)) ?? undefined;
  const explorer = cosmiconfig('airgap', {
    // `global`: from cwd up to the home folder (or /), then ~/.config/airgap/config{,.yaml,.json,…}.
    searchStrategy: 'global',
    cache: false,
    // One YAML reader for manifests and config, so both report syntax errors with line and column.
    loaders: { ...defaultLoaders, '.yaml': yamlLoader, '.yml': yamlLoader, '.json': yamlLoader, noExt: yamlLoader, default: yamlLoader },
  });

  let found: { config: unknown; filepath: string; isEmpty?: boolean } | null;
  try {
    if (opts.configFile) {
      const file = path.resolve(cwd, opts.configFile);
      await assertReadableFile(file, displayPath(file, cwd));
      found = await explorer.load(file);
    } else {
      found = await searchConfig(explorer, 'airgap', cwd, labelOf);
    }
  } catch (e) {
    if (isAirgapError(e)) throw e;
    const file = (e as { filepath?: string }).filepath;
    const label = file ? labelOf(file) : 'config';
    throw new UsageError(`${label}: cannot load the config: ${(e as Error).message}`, { subject: label, hint: 'fix the config file or pass another with --config', cause: e });
  }
  if (!found) return {};
  const configFile = found.filepath;
  if (found.isEmpty || found.config === undefined || found.config === null) return { configFile };

  const label = labelOf(configFile);
  const { data, problems } = await substituteAndValidate(found.config, env, {
    what: 'config',
    schemaFor: async (d) => {
      await opts.registry.load({ targetSettings: targetBlocks(d) });
      return configSchema(opts.registry);
    },
  });
  refuseProblems(label, problems, 'fix the config; every key is described in docs/config.md');
  return normalise(data as AirgapConfig, configFile, opts.registry, env);
}

/** The non-built-in keys of the config's targets: the ecosystem settings blocks it uses (e.g. `apt`). */
function targetBlocks(data: unknown): string[] {
  const targets = isPlainObject(data) ? data.targets : undefined;
  if (!isPlainObject(targets)) return [];
  return [...new Set(Object.values(targets).flatMap((t) => (isPlainObject(t) ? Object.keys(t).filter((k) => !BUILTIN_TARGET_KEYS.has(k)) : [])))];
}

/**
 * Paths in the config are resolved against the config file's folder, after expanding a leading `~/`:
 * signingKey, trust[], cache, ledger, http.caFile, s3.*.caFile, targets.*.path, and in an ecosystem's settings block
 * of a target (`targets.*.apt`, …) every string value whose key ends in `File` or `Key`.
 */
function normalise(raw: AirgapConfig, configFile: string, registry: EcosystemRegistry, env: NodeJS.ProcessEnv): AirgapConfig {
  const base = path.dirname(configFile);
  const home = env.HOME || os.homedir();
  const resolve = (p: string): string => {
    if (p === '~') return home;
    if (p.startsWith('~/')) return path.join(home, p.slice(2));
    return path.resolve(base, p);
  };
  const { $schema: _schema, ...rest } = raw as AirgapConfig & { $schema?: string };
  const cfg: AirgapConfig = { ...rest, configFile };
  if (cfg.signingKey) cfg.signingKey = resolve(cfg.signingKey);
  if (cfg.trust) cfg.trust = cfg.trust.map(resolve);
  if (cfg.cache) cfg.cache = resolve(cfg.cache);
  if (cfg.ledger) cfg.ledger = resolve(cfg.ledger);
  if (cfg.http?.caFile) cfg.http = { ...cfg.http, caFile: resolve(cfg.http.caFile) };
  if (cfg.s3) cfg.s3 = Object.fromEntries(Object.entries(cfg.s3).map(([n, c]) => [n, c.caFile ? { ...c, caFile: resolve(c.caFile) } : c]));
  if (cfg.notify?.zabbix?.tls?.pskFile) {
    cfg.notify = { ...cfg.notify, zabbix: { ...cfg.notify.zabbix, tls: { ...cfg.notify.zabbix.tls, pskFile: resolve(cfg.notify.zabbix.tls.pskFile) } } };
  }
  if (cfg.targets) {
    const blocks = Object.keys(ecosystemTargetSettings(registry));
    const targets: NonNullable<AirgapConfig['targets']> = {};
    for (const [name, t] of Object.entries(cfg.targets)) {
      const target: Record<string, unknown> = { ...t };
      if (typeof target.path === 'string') target.path = resolve(target.path);
      for (const block of blocks) {
        const settings = target[block];
        if (!isPlainObject(settings)) continue;
        const out: Record<string, unknown> = { ...settings };
        for (const [k, v] of Object.entries(out)) if (typeof v === 'string' && /(File|Key)$/.test(k)) out[k] = resolve(v);
        target[block] = out;
      }
      targets[name] = target as NonNullable<AirgapConfig['targets']>[string];
    }
    cfg.targets = targets;
  }
  return cfg;
}
