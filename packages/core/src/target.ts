import type { AirgapConfig, EndpointFormat, TargetConfig } from './config-types.js';
import type { HttpClient } from './http.js';
import type { Logger } from './log.js';
import type { ResolvedTarget } from './ecosystem.js';
import type { Transfers } from './transfer.js';

/**
 * One format's endpoint at a target: the Nexus repository URL `<url>/repository/<repo>/`, an
 * `endpoints` override (Docker connector port, a verdaccio, a Docker registry), with its auth.
 */
export interface Endpoint {
  format: EndpointFormat;
  /** Base URL, always ending in `/`. For docker: the registry root (`https://host:port/`). */
  url: string;
  /** The Nexus repository name, when the endpoint is a Nexus repository. */
  repository?: string;
  /** True when `url` is served by Nexus (so the Nexus REST API can be asked about it). */
  nexus: boolean;
  /** Auth headers to send (Basic from usernameEnv/passwordEnv); never print them. */
  headers(): Record<string, string>;
  /** Secret values to scrub from any message (docs/ledger.md). */
  secrets(): string[];
}

/** `services.endpoints` in a PublishContext for nexus and registries targets. */
export interface EndpointResolver {
  /** The endpoint for a format; throws a UsageError naming the target when the format is not mapped. */
  endpoint(format: EndpointFormat): Endpoint;
  has(format: EndpointFormat): boolean;
}

/** A kind of target (`type:` in the config). Opened once per unpack, before anything is pushed. */
export interface TargetDriver {
  type: 'nexus' | 'registries' | 'dir' | 's3';
  /**
   * Without the network: can the target take these formats (each mapped, credentials' variables set)?
   * Throws a UsageError naming the target. unpack calls it before verifying the bundle.
   */
  check?(target: ResolvedTarget, formats: Set<EndpointFormat>, ctx: { config: AirgapConfig; env: NodeJS.ProcessEnv }): void;
  /**
   * Check that the target can take the formats the bundle needs (preflight: exit 1 before anything is
   * sent, one line per problem) and return the services the publish halves use (`endpoints`, …).
   */
  open(target: ResolvedTarget, ctx: TargetOpenContext): Promise<OpenTarget>;
}

export interface TargetOpenContext {
  http: HttpClient;
  config: AirgapConfig;
  log: Logger;
  formats: Set<EndpointFormat>;
  dryRun: boolean;
  env: NodeJS.ProcessEnv;
  /**
   * The run's transfer engine (unpack always passes it): requests a driver sends while opening (Nexus
   * preflight) wait for a slot of the one `--concurrency` limit like every push (docs/transfers.md).
   */
  transfer?: Transfers;
}

export interface OpenTarget {
  services: Record<string, unknown>;
  close?(): Promise<void>;
}
