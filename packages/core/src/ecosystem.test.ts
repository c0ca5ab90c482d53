import { describe, expect, it } from 'vitest';
import { type Ecosystem, EcosystemRegistry } from './ecosystem.js';
import { InternalError } from './errors.js';

const noop = { resolve: async () => [], fetch: async () => {} };
const half = { exists: async () => 'absent' as const, publish: async () => {} };
function eco(kind: string, manifestKey: string, settings?: string[]): Ecosystem {
  return {
    kind: kind as Ecosystem['kind'], manifestKey, specSchema: { type: 'object' }, source: noop, publish: { dir: half },
    ...(settings ? { targetSettingsSchema: Object.fromEntries(settings.map((s) => [s, { type: 'object' }])) } : {}),
  };
}

describe('EcosystemRegistry with lazy registrations', () => {
  function registry(loads: string[]) {
    const thunk = (e: Ecosystem) => async () => {
      loads.push(e.kind);
      return e;
    };
    return new EcosystemRegistry()
      .lazy({ kind: 'file', manifestKey: 'files' }, thunk(eco('file', 'files')))
      .lazy({ kind: 'image', manifestKey: 'images' }, thunk(eco('image', 'images')))
      .lazy({ kind: 'apt', manifestKey: 'apt', targetSettings: ['apt'] }, thunk(eco('apt', 'apt', ['apt'])));
  }

  it('loads only what is asked for (by kind, section or target settings block), each once', async () => {
    const loads: string[] = [];
    const r = registry(loads);
    expect(r.manifestKeys()).toEqual(['files', 'images', 'apt']);
    expect(loads).toEqual([]);
    await Promise.all([r.load({ kinds: ['file'] }), r.load({ manifestKeys: ['files', 'nonsense'] })]);
    expect(loads).toEqual(['file']);
    expect(r.get('file').manifestKey).toBe('files');
    expect(r.loaded().map((e) => e.kind)).toEqual(['file']);
    await r.load({ targetSettings: ['apt'] });
    expect(loads).toEqual(['file', 'apt']);
    await r.load('all');
    expect(loads).toEqual(['file', 'apt', 'image']);
    expect(r.all().map((e) => e.kind)).toEqual(['file', 'image', 'apt']);
  });

  it('is loud when a declared ecosystem is used before it was loaded', () => {
    const r = registry([]);
    expect(() => r.get('image')).toThrow(/ecosystem image was not loaded/);
    expect(() => r.forManifestKey('images')).toThrow(InternalError);
    expect(() => r.all()).toThrow(/was not loaded/);
    expect(r.forManifestKey('pypi')).toBeUndefined();
    expect(() => r.get('pypi')).toThrow(/no ecosystem registered for artifact kind pypi/);
  });

  it('refuses a declaration the loaded ecosystem does not match, and a section registered twice', async () => {
    const wrong = new EcosystemRegistry().lazy({ kind: 'apt', manifestKey: 'apt' }, async () => eco('apt', 'apt', ['apt']));
    await expect(wrong.load('all')).rejects.toThrow(/declared as .* loaded as kind apt, section apt, target settings \[apt\]/);
    expect(() => new EcosystemRegistry().register(eco('file', 'files')).lazy({ kind: 'yum', manifestKey: 'files' }, async () => eco('yum', 'files'))).toThrow(/section files registered twice/);
  });

  it('imports a lazy target driver when asked, and is loud when it was not', async () => {
    let imported = 0;
    const r = new EcosystemRegistry().lazyTarget('nexus', async () => {
      imported++;
      return { type: 'nexus', open: async () => ({ services: {} }) };
    });
    expect(imported).toBe(0);
    expect(() => r.targetDriver('nexus')).toThrow(/target driver nexus was not loaded/);
    await r.loadTargets(['nexus', 'nexus', 's3']);
    await r.loadTargets(['nexus']);
    expect(imported).toBe(1);
    expect(r.targetDriver('nexus')?.type).toBe('nexus');
    expect(r.targetDriver('s3')).toBeUndefined();
  });
});
