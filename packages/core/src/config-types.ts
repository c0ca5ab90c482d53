/** The configuration of docs/config.md, after loading, `${VAR}` substitution, validation and normalisation. */

export type EndpointFormat = 'docker' | 'helm' | 'apt' | 'yum' | 'pypi' | 'npm' | 'raw';
export const ENDPOINT_FORMATS: readonly EndpointFormat[] = ['docker', 'helm', 'apt', 'yum', 'pypi', 'npm', 'raw'];

export interface HttpSettings {
  /** PEM file of extra CAs (internal CAs); TLS verification is always on. */
  caFile?: string;
  /** `env` (HTTPS_PROXY/HTTP_PROXY/NO_PROXY), `none`, or a proxy URL. */
  proxy?: string;
  retries?: number;
  timeoutMs?: number;
}

export interface NexusTargetConfig {
  type: 'nexus';
  url: string;
  usernameEnv?: string;
  passwordEnv?: string;
  repositories?: Partial<Record<EndpointFormat, string>>;
  endpoints?: Partial<Record<EndpointFormat, string>>;
  imageNames?: 'keep-host' | 'strip-host';
  /** Refuse to move an OCI tag to another digest (docs/oci.md "Moved tags"); default false. */
  immutableTags?: boolean;
  [ecosystemSettings: string]: unknown;
}

export interface RegistriesTargetConfig {
  type: 'registries';
  endpoints: Partial<Record<EndpointFormat, string>>;
  usernameEnv?: string;
  passwordEnv?: string;
  imageNames?: 'keep-host' | 'strip-host';
  /** Refuse to move an OCI tag to another digest (docs/oci.md "Moved tags"); default false. */
  immutableTags?: boolean;
  [ecosystemSettings: string]: unknown;
}

export interface DirTargetConfig {
  type: 'dir';
  path: string;
  /** Refuse to move an OCI tag in `oci/index.json` to another digest (docs/oci.md "Moved tags"); default false. */
  immutableTags?: boolean;
  [ecosystemSettings: string]: unknown;
}

/** A bucket on an S3 service (Ceph RGW, MinIO, AWS): files are restored as objects under `prefix` (docs/backups.md). */
export interface S3TargetConfig {
  type: 's3';
  /** Name of the connection under the config's `s3:`. */
  s3: string;
  bucket: string;
  /** Prepended to every object key (e.g. `dr/`); default none. */
  prefix?: string;
  [ecosystemSettings: string]: unknown;
}

/** One S3 service (config `s3.<name>`): a tree source's `s3:` and an s3 target's `s3:` name it (docs/config.md). */
export interface S3Settings {
  /** `https://rgw.corp.internal` (`http://` only on loopback, or with `registries.<host:port>.plainHttp`, docs/config.md). */
  endpoint: string;
  /** SigV4 signing region; Ceph RGW takes any (default `us-east-1`). */
  region?: string;
  /** `https://host/bucket/key` instead of `https://bucket.host/key`; default true (what RGW and MinIO expect). */
  pathStyle?: boolean;
  accessKeyEnv: string;
  secretKeyEnv: string;
  /** PEM file of the CA that signed the endpoint's certificate; TLS verification is always on. */
  caFile?: string;
}

/** `type: route`: each artifact kind (or manifest section) to another configured target; `default` for the rest. */
export interface RouteTargetConfig {
  type: 'route';
  routes: Record<string, string>;
}

export type TargetConfig = NexusTargetConfig | RegistriesTargetConfig | DirTargetConfig | S3TargetConfig | RouteTargetConfig;

export interface RegistryCredentials {
  usernameEnv?: string;
  passwordEnv?: string;
  tokenEnv?: string;
  plainHttp?: boolean;
}

/** Where scheduled runs report (docs/config.md `notify`); used by the ledger/cron work. */
export interface NotifySettings {
  mattermost?: { url: string };
  smtp?: {
    host: string;
    port: number;
    from: string;
    to: string | string[];
    /** Upgrade with STARTTLS (required when true). Port 465 is TLS from the start. */
    starttls?: boolean;
    usernameEnv?: string;
    passwordEnv?: string;
  };
  /** Zabbix trapper values after each pack, verify, unpack and ledger verify (docs/monitoring.md). */
  zabbix?: ZabbixSettings;
}

export interface ZabbixSettings {
  /** `HOST[:PORT]` of the Zabbix server or proxy; port 10051 when absent. */
  server: string;
  /** The monitored host's name as configured in Zabbix. */
  host: string;
  /** TLS with a pre-shared key, as `zabbix_sender --tls-connect psk`. */
  tls?: { pskIdentity: string; pskFile: string };
}

export interface AirgapConfig {
  /** Where the config was read from, if from a file; relative paths in it are resolved against its folder. */
  configFile?: string;
  signingKey?: string;
  trust?: string[];
  cache?: string;
  ledger?: string;
  /** pack --recovery default (docs/transfer.md). */
  recovery?: string | number;
  http?: HttpSettings;
  targets?: Record<string, TargetConfig>;
  registries?: Record<string, RegistryCredentials>;
  notify?: NotifySettings;
  s3?: Record<string, S3Settings>;
  [extra: string]: unknown;
}
