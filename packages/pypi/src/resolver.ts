import type { Requirement } from './requirement.js';

/**
 * A backtracking resolver in the style of resolvelib: requirements are visited in the order they were
 * discovered; for an unpinned name, the candidates allowed by every requirement on it are tried newest
 * first; a candidate whose dependencies contradict a pin, or whose subtree cannot be resolved, is
 * dropped and the next one is tried. Deterministic: the same inputs give the same pins.
 */

export interface Candidate {
  name: string;
  version: string;
}

export interface ResolverProvider<C extends Candidate> {
  /** Candidates for `name` that satisfy every one of `requirements`, best (newest) first. */
  candidates(name: string, requirements: Requirement[]): Promise<C[]>;
  /**
   * Dependencies of a candidate for the requested extras, markers already evaluated for the target;
   * null when the candidate turns out unusable (its metadata excludes the target Python).
   */
  dependencies(candidate: C, extras: string[]): Promise<Requirement[] | null>;
  satisfies(candidate: C, requirement: Requirement): boolean;
  /** Why no candidate exists at all for these requirements (versions seen, files that did not fit). */
  explainNone?(name: string, requirements: Requirement[]): string;
}

export interface Edge {
  requirement: Requirement;
  /** `the manifest` or `<name> <version>`. */
  requiredBy: string;
}

export class ResolutionConflict extends Error {
  constructor(readonly project: string, readonly edges: Edge[], readonly detail?: string) {
    super(
      `no version of ${project} satisfies ${edges.map((e) => `${JSON.stringify(e.requirement.text)} (required by ${e.requiredBy})`).join(' and ')}` +
        (detail ? `: ${detail}` : ''),
    );
  }
}

export class ResolutionTooComplex extends Error {}

interface State<C extends Candidate> {
  pins: Map<string, C>;
  edges: Edge[];
  extras: Map<string, Set<string>>;
}

export interface ResolveOptions {
  /** Candidate attempts before giving up (the search is exponential in the worst case). */
  maxRounds?: number;
}

export async function resolveRequirements<C extends Candidate>(
  roots: Requirement[],
  provider: ResolverProvider<C>,
  options: ResolveOptions = {},
): Promise<Map<string, C>> {
  let rounds = 0;
  const maxRounds = options.maxRounds ?? 20_000;
  const label = (c: C) => `${c.name} ${c.version}`;

  const solve = async (start: State<C>): Promise<Map<string, C> | ResolutionConflict> => {
    const state: State<C> = { pins: new Map(start.pins), edges: [...start.edges], extras: new Map(start.extras) };
    for (;;) {
      let target: string | undefined;
      let grew = false;
      for (const edge of state.edges) {
        const name = edge.requirement.name;
        const pin = state.pins.get(name);
        if (!pin) {
          target = name;
          break;
        }
        if (!provider.satisfies(pin, edge.requirement)) {
          return new ResolutionConflict(name, state.edges.filter((e) => e.requirement.name === name), `${label(pin)} was chosen`);
        }
        const done = state.extras.get(name) ?? new Set<string>();
        const missing = edge.requirement.extras.filter((x) => !done.has(x));
        if (missing.length) {
          // An extra asked for after the pin was made: add its dependencies to the same pin.
          state.extras.set(name, new Set([...done, ...missing]));
          const deps = (await provider.dependencies(pin, missing)) ?? [];
          const clash = firstClash(deps, state.pins, provider);
          if (clash) return conflictOn(clash, label(pin), state.edges);
          state.edges.push(...deps.map((requirement) => ({ requirement, requiredBy: label(pin) })));
          grew = true;
          break;
        }
      }
      if (grew) continue;
      if (!target) return state.pins;

      const onTarget = state.edges.filter((e) => e.requirement.name === target);
      const reqs = onTarget.map((e) => e.requirement);
      const candidates = await provider.candidates(target, reqs);
      if (candidates.length === 0) return new ResolutionConflict(target, onTarget, provider.explainNone?.(target, reqs));
      const extras = [...new Set(reqs.flatMap((r) => r.extras))];
      let first: ResolutionConflict | undefined;
      for (const candidate of candidates) {
        if (++rounds > maxRounds) throw new ResolutionTooComplex(`gave up after ${maxRounds} candidate attempts`);
        const deps = await provider.dependencies(candidate, extras);
        if (deps === null) continue;
        const clash = firstClash(deps, state.pins, provider);
        if (clash) {
          first ??= conflictOn(clash, label(candidate), state.edges);
          continue;
        }
        const result = await solve({
          pins: new Map(state.pins).set(target, candidate),
          edges: [...state.edges, ...deps.map((requirement) => ({ requirement, requiredBy: label(candidate) }))],
          extras: new Map(state.extras).set(target, new Set(extras)),
        });
        if (!(result instanceof ResolutionConflict)) return result;
        first ??= result;
      }
      return first ?? new ResolutionConflict(target, onTarget, provider.explainNone?.(target, reqs));
    }
  };

  const result = await solve({ pins: new Map(), edges: roots.map((requirement) => ({ requirement, requiredBy: 'the manifest' })), extras: new Map() });
  if (result instanceof ResolutionConflict) throw result;
  return result;
}

function firstClash<C extends Candidate>(deps: Requirement[], pins: Map<string, C>, provider: ResolverProvider<C>): Requirement | undefined {
  return deps.find((d) => {
    const pin = pins.get(d.name);
    return pin !== undefined && !provider.satisfies(pin, d);
  });
}

function conflictOn(clash: Requirement, requiredBy: string, edges: Edge[]): ResolutionConflict {
  return new ResolutionConflict(clash.name, [...edges.filter((e) => e.requirement.name === clash.name), { requirement: clash, requiredBy }]);
}
