/**
 * The publish contract (docs/design.md "Publishing"), once for every registered ecosystem × every kind of
 * target it can go to: a `dir:` mirror, the `registries` servers where the format has one (docker-registry
 * for images, verdaccio for npm) and the Nexus double. Everything is opened the way unpack opens it
 * (src/publish-targets.ts: the target's registered TargetDriver.open, then the PublishContext from what it
 * returns), from one real bundle packed by the CLI from real upstreams (test/approval/seven-kinds.ts).
 *
 * For each pair: `exists` changes nothing; after publishing, `exists` is `present` and a re-run writes
 * nothing; a conflicting artifact (other bytes under the same coordinates) raises a TargetError and
 * overwrites nothing; a dry run writes nothing; `finalize` twice gives the same mirror. The first test
 * fails when an ecosystem is registered without being listed here.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { type AirgapConfig, type Artifact, type ArtifactKind, type TargetConfig, HttpClient, TargetError, Transfers, silentLogger } from '@airgap/core';
import { type VerifiedBundle, readPublicKey, verifyBundle } from '@airgap/bundle';
import { ecosystems } from '../../src/ecosystems.js';
import { UnpackPlan } from '../../src/route.js';
import { formatsByTarget, openTarget } from '../../src/publish-targets.js';
import { runAirgap, runAirgapJson, tempDir } from '../harness/index.js';
import { type SevenKinds, sevenKinds } from '../approval/seven-kinds.js';
import { type NexusDouble, DEFAULT_USER, startNexusDouble } from '../nexus-double/index.js';
import { type Registry, startRegistry } from '../oci/registry-fixtures.js';
import { type Verdaccio, startVerdaccio } from '../npm/verdaccio.js';

type TargetKind = 'dir' | 'registries' | 'nexus';

/**
 * Every ecosystem and the targets it is checked at. `tagsMove`: the format's coordinates are a movable
 * name over content-addressed blobs (an image tag, docs/images.md), so "other bytes under the same
 * coordinates" is a tag move, not a conflict; what is checked for it is that nothing is overwritten.
 */
const CASES: Record<ArtifactKind, { targets: TargetKind[]; tagsMove?: boolean }> = {
  image: { targets: ['dir', 'registries', 'nexus'], tagsMove: true },
  chart: { targets: ['dir', 'nexus'] },
  apt: { targets: ['dir', 'nexus'] },
  yum: { targets: ['dir', 'nexus'] },
  pypi: { targets: ['dir', 'nexus'] },
  npm: { targets: ['dir', 'registries', 'nexus'] },
  file: { targets: ['dir', 'nexus'] },
};

const NEXUS_ENV = { CT_NEXUS_USER: DEFAULT_USER.username, CT_NEXUS_PASSWORD: DEFAULT_USER.password };

let work: string;
let fx: SevenKinds;
let bundle: VerifiedBundle;

beforeAll(async () => {
  work = await tempDir('airgap-contract-');
  fx = await sevenKinds(work);
  await writeFile(join(work, 'all.yaml'), fx.manifest('contract'));
  const keys = join(work, 'keys');
  const k = await runAirgap(['keygen', '--out-dir', keys, '--name', 'outside']);
  expect(k.exitCode, k.stderr).toBe(0);
  const r = await runAirgapJson<{ bundle: string }>(['pack', join(work, 'all.yaml'), '--out', join(work, 'out'), '--key', join(keys, 'outside.key'), '--cache', join(work, 'cache')], { cwd: work });
  expect(r.exitCode, r.stderr).toBe(0);
  await ecosystems.load('all');
  bundle = await verifyBundle(r.json.bundle, { trust: [await readPublicKey(join(keys, 'outside.pub'))], insecureSkipSignature: false, validate: (a) => ecosystems.validate(a) });
}, 600_000);

afterAll(async () => {
  await fx?.stop();
});

it('lists every registered ecosystem (a new one fails here until it is added to CASES)', async () => {
  await ecosystems.load('all');
  expect(ecosystems.declarations().map((d) => d.kind).sort()).toEqual(Object.keys(CASES).sort());
  // and the bundle really carries every kind, so no case below runs over nothing
  expect([...new Set(bundle.index.artifacts.map((a) => a.kind))].sort()).toEqual(Object.keys(CASES).sort());
});

/** A target of one kind, fresh for each use, and a fingerprint of everything it holds. */
interface Place {
  config: TargetConfig;
  env: NodeJS.ProcessEnv;
  /** path → sha256 (and mtime where the target is a folder of ours: a rewrite with the same bytes shows). */
  snapshot(withTimes?: boolean): Promise<Map<string, string>>;
  close(): Promise<void>;
}

async function walk(root: string, withTimes: boolean, skip: (rel: string) => boolean = () => false): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const go = async (rel: string) => {
    const entries = await readdir(join(root, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (skip(r)) continue;
      if (e.isDirectory()) await go(r);
      else {
        const p = join(root, r);
        const sum = createHash('sha256').update(await readFile(p)).digest('hex');
        out.set(r, withTimes ? `${sum} ${(await stat(p)).mtimeMs}` : sum);
      }
    }
  };
  await go('');
  return out;
}

async function place(kind: ArtifactKind, t: TargetKind): Promise<Place> {
  if (t === 'dir') {
    const path = join(await tempDir('airgap-contract-dir-'), 'mirror');
    return { config: { type: 'dir', path }, env: {}, snapshot: (times = false) => walk(path, times), close: async () => {} };
  }
  if (t === 'nexus') {
    const double: NexusDouble = await startNexusDouble();
    // Nexus serves Docker on a connector port (docs/reference/nexus-api.md): a real docker-registry with the
    // Nexus user's credentials stands in for it, as in test/oci/oci-nexus.test.ts.
    const connectorDir = kind === 'image' ? await tempDir('airgap-contract-conn-') : undefined;
    const connector = connectorDir ? await startRegistry(connectorDir, { type: 'htpasswd', user: DEFAULT_USER.username, password: DEFAULT_USER.password }) : undefined;
    return {
      config: {
        type: 'nexus', url: double.url, usernameEnv: 'CT_NEXUS_USER', passwordEnv: 'CT_NEXUS_PASSWORD',
        repositories: { docker: 'docker-hosted', helm: 'helm-hosted', apt: 'apt-hosted', yum: 'yum-hosted', pypi: 'pypi-hosted', npm: 'npm-hosted', raw: 'raw-hosted' },
        ...(connector ? { endpoints: { docker: `http://${connector.host}/` } } : {}),
      },
      env: NEXUS_ENV,
      async snapshot() {
        const out = connectorDir ? await walk(join(connectorDir, 'storage'), false) : new Map<string, string>();
        for (const a of double.storage.list()) out.set(`${a.repository}/${a.path}`, createHash('sha256').update(await readFile(a.file)).digest('hex'));
        return out;
      },
      close: async () => {
        await double.close();
        await connector?.stop();
      },
    };
  }
  if (kind === 'image') {
    const dir = await tempDir('airgap-contract-reg-');
    const reg: Registry = await startRegistry(dir);
    return { config: { type: 'registries', endpoints: { docker: `http://${reg.host}/` } }, env: {}, snapshot: () => walk(join(dir, 'storage'), false), close: () => reg.stop() };
  }
  const v: Verdaccio = await startVerdaccio();
  return {
    config: { type: 'registries', endpoints: { npm: v.url }, usernameEnv: 'CT_REG_USER', passwordEnv: 'CT_REG_PASSWORD' },
    env: { CT_REG_USER: v.user, CT_REG_PASSWORD: v.password },
    // verdaccio's own bookkeeping (.verdaccio-db.json: the list of local packages) is not content
    snapshot: () => walk(v.storage, false, (r) => r.startsWith('.')),
    close: () => v.close(),
  };
}

/** Open the target as unpack does and return what one kind publishes with. */
async function open(kind: ArtifactKind, p: Place, artifacts: Artifact[], dryRun = false) {
  const config: AirgapConfig = { targets: { t: p.config } };
  const plan = new UnpackPlan('t', config);
  await plan.prepare([kind]);
  const half = plan.half(kind);
  const formats = formatsByTarget(plan, new Map([[kind, half]]), () => artifacts);
  const http = new HttpClient({ retries: 1 });
  const opened = await openTarget(plan.targetFor(kind)!, formats.get('t')!, {
    http, config, log: silentLogger, progress: () => {}, dryRun, env: p.env, blobs: bundle.blobs,
    bundle: { name: bundle.index.name, created: bundle.index.created }, concurrency: 2,
    transfer: new Transfers({ http, concurrency: 2, progress: () => {}, log: silentLogger }),
  });
  /** What unpack does for the kind: exists, publish what is absent (children first, as in the index), finalize. */
  const run = async (list = artifacts) => {
    const actions: string[] = [];
    for (const a of list) {
      if ((await half.exists(a, opened.ctx)) === 'present') actions.push('present');
      else if (dryRun) actions.push('would-push');
      else {
        await half.publish(a, opened.ctx);
        actions.push('pushed');
      }
    }
    if (!dryRun) await half.finalize?.(list, opened.ctx);
    return actions;
  };
  return { half, ctx: opened.ctx, run, close: async () => opened.close?.() };
}

/**
 * The same coordinates with other bytes: the first blob swapped for another blob of the bundle (of the
 * same kind where there is one), and the digest with it where the artifact's digest is that blob's.
 */
function twin(a: Artifact): Artifact {
  const others = bundle.index.artifacts.flatMap((x) => (x.kind === a.kind ? x.blobs : [])).concat(bundle.index.artifacts.flatMap((x) => x.blobs));
  const other = others.find((b) => b.digest !== a.blobs[0].digest && b.mediaType === a.blobs[0].mediaType) ?? others.find((b) => b.digest !== a.blobs[0].digest)!;
  const t: Artifact = { ...a, digest: a.digest === a.blobs[0].digest ? other.digest : a.digest, blobs: [{ ...a.blobs[0], digest: other.digest, size: other.size }, ...a.blobs.slice(1)] };
  if (a.kind === 'npm') {
    // npm names a version's bytes by the upstream's dist.integrity, carried in the meta: the twin's differs.
    const meta = a.meta as { manifest: { dist?: Record<string, unknown> } };
    t.meta = { ...a.meta, manifest: { ...meta.manifest, dist: { ...meta.manifest.dist, integrity: 'sha512-' + createHash('sha512').update(other.digest).digest('base64'), shasum: undefined } } };
  }
  return t;
}

const pairs = Object.entries(CASES).flatMap(([kind, c]) => c.targets.map((t) => [kind as ArtifactKind, t] as const));

describe.each(pairs)('%s → %s', (kind, t) => {
  const artifactsOf = () => bundle.index.artifacts.filter((a) => a.kind === kind);

  it('exists changes nothing; after publish exists is present and a re-run writes nothing; finalize twice gives the same mirror', async () => {
    const p = await place(kind, t);
    try {
      const artifacts = artifactsOf();
      const o = await open(kind, p, artifacts);
      const empty = await p.snapshot(true);
      for (const a of artifacts) expect(await o.half.exists(a, o.ctx)).toBe('absent');
      expect(await p.snapshot(true)).toEqual(empty);

      expect(await o.run()).toEqual(artifacts.map(() => 'pushed'));
      const published = await p.snapshot(true);
      expect(published.size).toBeGreaterThan(empty.size);
      for (const a of artifacts) expect(await o.half.exists(a, o.ctx)).toBe('present');
      expect(await p.snapshot(true)).toEqual(published);

      // A second unpack of the same bundle: opened again, every artifact present, nothing written.
      await o.close();
      const again = await open(kind, p, artifacts);
      const before = await p.snapshot(false);
      expect(await again.run()).toEqual(artifacts.map(() => 'present'));
      // finalize ran twice now: the same mirror, byte for byte
      expect(await p.snapshot(false)).toEqual(before);
      await again.half.finalize?.(artifacts, again.ctx);
      expect(await p.snapshot(false)).toEqual(before);
      await again.close();
    } finally {
      await p.close();
    }
  });

  it('a conflicting artifact raises a TargetError and overwrites nothing', async () => {
    const p = await place(kind, t);
    try {
      const artifacts = artifactsOf();
      const o = await open(kind, p, artifacts);
      await o.run();
      const before = await p.snapshot(false);
      const a = twin(artifacts.find((x) => x.blobs.length > 0)!);
      expect(a.blobs[0].digest).not.toBe(artifacts.find((x) => x.name === a.name && x.version === a.version)!.blobs[0].digest);
      const outcome = await o.run([a]).then((actions) => actions, (e: unknown) => e);
      if (CASES[kind].tagsMove) {
        // Content-addressed: a moved tag is published beside what is there; nothing already there changes.
        const after = await p.snapshot(false);
        for (const [path, sum] of before) if (!path.includes('index.json') && !path.includes('/_manifests/tags/')) expect(after.get(path), path).toBe(sum);
      } else {
        expect(outcome).toBeInstanceOf(TargetError);
        expect(await p.snapshot(false)).toEqual(before);
      }
      await o.close();
    } finally {
      await p.close();
    }
  });

  it('a dry run writes nothing', async () => {
    const p = await place(kind, t);
    try {
      const artifacts = artifactsOf();
      const before = await p.snapshot(true);
      const o = await open(kind, p, artifacts, true);
      expect(await o.run()).toEqual(artifacts.map(() => 'would-push'));
      expect(await p.snapshot(true)).toEqual(before);
      await o.close();
    } finally {
      await p.close();
    }
  });
});
