import { gzipSync } from 'node:zlib';
import type { Artifact, ConfinedRoot } from '@airgap/core';

/**
 * One suite a manifest entry reads (docs/apt.md "Directory mirror"): carried in `meta.suites` of every
 * artifact the entry resolved, so the inside knows the suites even when the closure took no package
 * from one of them (e.g. `url: system` on bookworm: `bookworm-updates` often adds nothing).
 */
export interface DeclaredSuite {
  suite: string;
  components: string[];
  architectures: string[];
}

/** Every suite the artifacts declare, its components and architectures merged. */
export function declaredSuites(artifacts: Artifact[]): Map<string, { components: Set<string>; architectures: Set<string> }> {
  const out = new Map<string, { components: Set<string>; architectures: Set<string> }>();
  for (const a of artifacts) {
    for (const d of ((a.meta as { suites?: DeclaredSuite[] } | undefined)?.suites ?? [])) {
      const e = out.get(d.suite) ?? { components: new Set<string>(), architectures: new Set<string>() };
      out.set(d.suite, e);
      for (const c of d.components) e.components.add(c);
      for (const x of d.architectures) if (x !== 'all') e.architectures.add(x);
    }
  }
  return out;
}

/**
 * Fold the suites of an artifact resolved again by another manifest entry (same .deb, same digest) into
 * the one pack keeps, so that entry's suites are not lost with the duplicate.
 */
export function mergeDeclaredSuites(kept: Artifact, again: Artifact): void {
  const has = (kept.meta as { suites?: DeclaredSuite[] } | undefined)?.suites;
  const more = (again.meta as { suites?: DeclaredSuite[] } | undefined)?.suites;
  if (!more?.length || !kept.meta) return;
  const merged = [...(has ?? [])];
  for (const d of more) {
    const same = merged.find((m) => m.suite === d.suite);
    if (!same) merged.push({ suite: d.suite, components: [...d.components], architectures: [...d.architectures] });
    else {
      same.components = [...new Set([...same.components, ...d.components])];
      same.architectures = [...new Set([...same.architectures, ...d.architectures])];
    }
  }
  kept.meta.suites = merged;
}

/**
 * An empty `Packages` (and its gzip) for each component and architecture of a declared suite that has
 * none yet, so its Release lists the indexes clients ask for ("possibly empty", never missing).
 */
export async function ensureEmptyIndexes(suiteDir: ConfinedRoot, components: Iterable<string>, architectures: Iterable<string>): Promise<void> {
  for (const component of components) {
    for (const arch of architectures) {
      const dir = `${component}/binary-${arch}`;
      if (await suiteDir.isFile(`${dir}/Packages`)) continue;
      await suiteDir.mkdir(dir);
      await suiteDir.writeFile(`${dir}/Packages`, '');
      await suiteDir.writeFile(`${dir}/Packages.gz`, gzipSync(Buffer.alloc(0), { level: 9 }));
    }
  }
}

/**
 * The suites already in the mirror: every folder under `dists/` that holds a `Release` (an earlier
 * bundle's), so each is signed again with the current key and none is left behind.
 */
export async function existingSuites(root: ConfinedRoot): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string, depth: number) => {
    if (depth > 4) return;
    for (const e of await root.readdir(rel)) {
      if (!e.isDirectory() || e.name.startsWith('.') || e.name.startsWith('binary-')) continue;
      const r = `${rel}/${e.name}`;
      if (await root.isFile(`${r}/Release`)) out.push(r.slice('dists/'.length));
      await walk(r, depth + 1);
    }
  };
  if ((await root.stat('dists'))?.isDirectory()) await walk('dists', 0);
  return out.sort();
}
