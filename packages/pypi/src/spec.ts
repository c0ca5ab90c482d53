import { basicAuthEnvKeys, envKey } from '@airgap/core';

/** One entry of the manifest's `pypi` section (docs/manifest.md). */
export interface PypiSpec {
  /** Simple API base URL (PEP 503/691), e.g. `https://pypi.example.com/simple`. */
  index: string;
  /** PEP 508 requirements, the roots of the closure. */
  requirements: string[];
  /** Target Python, `3.11` or `3.11.4`: markers and `requires-python` are evaluated for it, not for the packing machine. */
  python: string;
  /** Target platform tags (`manylinux_2_17_x86_64`, `win_amd64`, …); default `[any]`: pure-Python wheels and sdists only. */
  platforms?: string[];
  /** Interpreter: `cp` (CPython, default) or `pp` (PyPy). */
  implementation?: 'cp' | 'pp';
  /** ABI tags; default the CPython ABI of `python` (`cp311`). */
  abi?: string | string[];
  /** Resolve the dependency closure (default true); false carries exactly the roots. */
  dependencies?: boolean;
  tokenEnv?: string;
  usernameEnv?: string;
  passwordEnv?: string;
}

export const pypiSpecSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['index', 'requirements', 'python'],
  properties: {
    index: { type: 'string', minLength: 1, description: 'simple API base URL (PEP 691 JSON or PEP 503 HTML)' },
    requirements: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, description: 'PEP 508 requirements' },
    python: { type: 'string', pattern: '^[0-9]+\\.[0-9]+(\\.[0-9]+)?$', description: 'target Python version, e.g. "3.11" (quote it in YAML)' },
    platforms: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[A-Za-z0-9_]+$' }, description: 'target platform tags, e.g. manylinux_2_17_x86_64' },
    implementation: { type: 'string', enum: ['cp', 'pp'] },
    abi: { oneOf: [{ type: 'string', pattern: '^[A-Za-z0-9_]+$' }, { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9_]+$' } }] },
    dependencies: { type: 'boolean', default: true },
    tokenEnv: envKey('the index API token (sent as the password; the user is __token__ unless usernameEnv is set)'),
    ...basicAuthEnvKeys('the index'),
  },
};
