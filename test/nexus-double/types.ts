import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AssetStore } from './storage.js';

export type RepositoryType = 'hosted' | 'proxy' | 'group';
export type WritePolicy = 'ALLOW' | 'ALLOW_ONCE' | 'DENY';
/** Which generation's error messages the double speaks (docs/reference/nexus-api.md §11): OrientDB (< 3.71) or SQL. */
export type StorageGeneration = 'orient' | 'sql';

export interface RepositoryDef {
  name: string;
  /** docker, helm, apt, yum, pypi, npm, raw, maven2, … */
  format: string;
  /** Default hosted. */
  type?: RepositoryType;
  /** Hosted only; default ALLOW_ONCE (Nexus's default for new hosted repositories is ALLOW_ONCE for most formats). */
  writePolicy?: WritePolicy;
  /** Format attributes reported by GET /service/rest/v1/repositories (e.g. apt: { distribution }). */
  attributes?: Record<string, unknown>;
}

export interface UserDef {
  username: string;
  password: string;
  /** Repositories the user may read/browse ('*' = all, the default). */
  read?: string[] | '*';
  /** Repositories the user may add/edit in ('*' = all, the default). */
  write?: string[] | '*';
  /** May read repository settings (nx-repository-admin-*-*-read); default false. */
  admin?: boolean;
  /** May use the search API (nx-search-read); default true. */
  search?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Decoded path, without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** The authenticated user, if any. */
  user?: string;
  /** The status sent (filled in when the response finishes). */
  status?: number;
  /** True when an injected fault answered it. */
  fault?: boolean;
}

/** A scripted failure: the next `times` requests matching `method`/`path` get it instead of a real answer. */
export interface Fault {
  method?: string;
  /** Exact path, or a pattern tested against the decoded path. */
  path?: string | RegExp;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** Status to answer with (default 503). */
  status?: number;
  statusText?: string;
  body?: string;
  headers?: Record<string, string>;
  /** Destroy the connection instead of answering (a reset). */
  reset?: boolean;
  /** Never answer (the client's timeout fires); the socket is closed when the double closes. */
  hang?: boolean;
}

export interface DoubleState {
  readonly url: string;
  readonly repositories: Map<string, RepositoryDef>;
  readonly storage: AssetStore;
  readonly generation: StorageGeneration;
}

/** What a format handler gets for a request under `/repository/<repo>/` of a hosted repository. */
export interface FormatRequest {
  double: DoubleState;
  repo: RepositoryDef;
  user?: UserDef;
  /** May the user add/edit in this repository? (format endpoints answer 403 when not) */
  canWrite: boolean;
  req: IncomingMessage;
  res: ServerResponse;
  /** Decoded path inside the repository, no leading slash ('' for the repository root). */
  path: string;
  url: URL;
}

/** One Components API upload after the multipart fields were parsed and the `<fmt>.` prefix stripped (docs/reference/nexus-api.md §2). */
export interface ComponentUpload {
  double: DoubleState;
  repo: RepositoryDef;
  user?: UserDef;
  /** Component fields (`raw.directory` → `directory`). */
  fields: Map<string, string>;
  /** Assets by key (`asset`, `asset1`, …), each with its file and its own fields (`raw.asset1.filename` → `filename`). */
  assets: Map<string, { file: File; fields: Map<string, string> }>;
  /** Throws the "Not authorized for requested path" 400 when the user may not write `path` (docs/reference/nexus-api.md §2 quirk). */
  ensurePermitted(path: string): void;
}

/** A validation error of the Components API: 400 with `[{"id","message"}]` (docs/reference/nexus-api.md §2). */
export class ValidationErrors extends Error {
  constructor(readonly errors: { id: string; message: string }[]) {
    super(errors.map((e) => e.message).join('; '));
  }
}

/**
 * One repository format of the double. Add a file in formats/ and list it in formats/index.ts
 * (see README.md).
 */
export interface FormatHandler {
  /** Nexus's format name: raw, apt, yum, helm, pypi, npm, docker. */
  format: string;
  /** Answer a request under `/repository/<repo>/…` of a hosted repository of this format. */
  handle(r: FormatRequest): Promise<void>;
  /** Components API upload; without it the API answers "Uploading components to '<fmt>' repositories is unsupported". */
  upload?(u: ComponentUpload): Promise<void>;
}
