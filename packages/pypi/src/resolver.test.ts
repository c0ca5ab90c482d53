import { satisfies, rcompare } from '@renovatebot/pep440';
import { describe, expect, it } from 'vitest';
import { type Requirement, parseRequirement } from './requirement.js';
import { type Candidate, ResolutionConflict, type ResolverProvider, resolveRequirements } from './resolver.js';

/** An in-memory index: name → version → requirement strings (an `extra:` prefix marks extra-only deps). */
type Universe = Record<string, Record<string, string[]>>;

function provider(u: Universe, log: string[] = []): ResolverProvider<Candidate> {
  return {
    async candidates(name, reqs) {
      return Object.keys(u[name] ?? {})
        .filter((v) => reqs.every((r) => !r.specifier || satisfies(v, r.specifier)))
        .sort(rcompare)
        .map((version) => ({ name, version }));
    },
    async dependencies(c, extras) {
      log.push(`${c.name} ${c.version}`);
      return u[c.name][c.version]
        .filter((d) => !d.startsWith('extra:') || extras.includes(d.split(':')[1]))
        .map((d) => parseRequirement(d.startsWith('extra:') ? d.split(':')[2] : d));
    },
    satisfies: (c, r: Requirement) => !r.specifier || satisfies(c.version, r.specifier),
  };
}

const pins = (m: Map<string, Candidate>) => Object.fromEntries([...m].map(([k, c]) => [k, c.version]));
const roots = (...r: string[]) => r.map(parseRequirement);

describe('backtracking resolver', () => {
  it('takes the newest version of everything when nothing conflicts', async () => {
    const u: Universe = { app: { '1.0': ['lib>=1'], '2.0': ['lib>=1'] }, lib: { '1.0': [], '1.5': [] } };
    expect(pins(await resolveRequirements(roots('app'), provider(u)))).toEqual({ app: '2.0', lib: '1.5' });
  });

  it('backtracks to an older version when the newest conflicts with a pin', async () => {
    const u: Universe = {
      app: { '1.0': ['lib<2'], '2.0': ['lib>=2'] },
      lib: { '1.0': [], '2.0': [] },
      tool: { '1.0': ['lib<2'] },
    };
    // tool pins lib to 1.x first; app 2.0 wants lib>=2 → app 1.0.
    expect(pins(await resolveRequirements(roots('tool', 'app'), provider(u)))).toEqual({ tool: '1.0', lib: '1.0', app: '1.0' });
  });

  it('backtracks across levels when a deeper choice fails', async () => {
    const u: Universe = {
      top: { '1.0': ['mid'], '2.0': ['mid>=2'] },
      mid: { '1.0': ['leaf<2'], '2.0': ['leaf>=3'] },
      leaf: { '1.0': [], '2.0': [] },
    };
    expect(pins(await resolveRequirements(roots('top', 'leaf'), provider(u)))).toEqual({ top: '1.0', mid: '1.0', leaf: '1.0' });
  });

  it('adds the dependencies of an extra requested after the pin', async () => {
    const u: Universe = { a: { '1.0': ['b'] }, b: { '1.0': ['extra:fast:c==1.0'] }, c: { '1.0': [], '2.0': [] } };
    expect(pins(await resolveRequirements(roots('a', 'b[fast]'), provider(u)))).toEqual({ a: '1.0', b: '1.0', c: '1.0' });
    expect(pins(await resolveRequirements(roots('b'), provider(u)))).toEqual({ b: '1.0' });
  });

  it('reports an unsatisfiable set naming both sides', async () => {
    const u: Universe = { app: { '1.0': ['lib<2'], '2.0': ['lib<2'] }, lib: { '1.0': [], '2.0': [] } };
    const err = await resolveRequirements(roots('app', 'lib>=2'), provider(u)).catch((e) => e);
    expect(err).toBeInstanceOf(ResolutionConflict);
    expect(err.message).toMatch(/lib/);
    expect(err.message).toContain('"lib>=2" (required by the manifest)');
    expect(err.message).toMatch(/"lib<2" \(required by app 2\.0\)/);
  });

  it('names the requirement when no version exists at all', async () => {
    const err = await resolveRequirements(roots('lib>=9'), provider({ lib: { '1.0': [] } })).catch((e) => e);
    expect(err).toBeInstanceOf(ResolutionConflict);
    expect(err.message).toContain('no version of lib satisfies "lib>=9" (required by the manifest)');
  });

  it('skips a candidate whose metadata rules it out (null dependencies)', async () => {
    const p = provider({ lib: { '1.0': [], '2.0': [] } });
    const inner = p.dependencies.bind(p);
    p.dependencies = async (c, e) => (c.version === '2.0' ? null : inner(c, e));
    expect(pins(await resolveRequirements(roots('lib'), p))).toEqual({ lib: '1.0' });
  });
});
