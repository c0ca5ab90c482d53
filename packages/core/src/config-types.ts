/** The configuration of SPEC §4, after loading, `${VAR}` substitution, validation and normalisation. */

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
  [ecosystemSettings: string]: unknown;
}

export interface RegistriesTargetConfig {
  type: 'registries';
  endpoints: Partial<Record<EndpointFormat, string>>;
  usernameEnv?: string;
  passwordEnv?: string;
  imageNames?: 'keep-host' | 'strip-host';
  [ecosystemSettings: string]: unknown;
}

export interface DirTargetConfig {
  type: 'dir';
  path: string;
  [ecosystemSettings: string]: unknown;
}

/** `type: route`: each artifact kind (or manifest section) to another configured target; `default` for the rest. */
export interface RouteTargetConfig {
  type: 'route';
  routes: Record<string, string>;
}

export type TargetConfig = NexusTargetConfig | RegistriesTargetConfig | DirTargetConfig | RouteTargetConfig;

export interface RegistryCredentials {
  usernameEnv?: string;
  passwordEnv?: string;
  tokenEnv?: string;
  plainHttp?: boolean;
}

/** Where scheduled runs report (SPEC §4 `notify`); used by the ledger/cron work. */
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
  http?: HttpSettings;
  targets?: Record<string, TargetConfig>;
  registries?: Record<string, RegistryCredentials>;
  notify?: NotifySettings;
  [extra: string]: unknown;
}
