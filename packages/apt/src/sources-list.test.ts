import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHostSources } from './sources-list.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function hostRoot(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'airgap-apt-sources-'));
  dirs.push(root);
  await mkdir(join(root, 'etc/apt/sources.list.d'), { recursive: true });
  for (const [p, text] of Object.entries(files)) await writeFile(join(root, p), text);
  return root;
}

const INLINE_KEY = `Types: deb
URIs: http://inline.example/debian
Suites: stable
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mDMEZabc
 =abcd
 -----END PGP PUBLIC KEY BLOCK-----
`;

describe('readHostSources', () => {
  it('reads sources.list, .list and .sources in apt order, with Signed-By, arch options and several suites', async () => {
    const root = await hostRoot({
      'etc/apt/sources.list': '# main archive\ndeb [arch=amd64,arm64 signed-by=/usr/share/keyrings/a.gpg] http://a.example/debian bookworm main contrib # trailing\ndeb-src http://a.example/debian bookworm main\n',
      'etc/apt/sources.list.d/b.sources':
        '# comment\nTypes: deb deb-src\nURIs: http://b.example/debian http://b2.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nArchitectures: amd64\nSigned-By: /usr/share/keyrings/b.gpg\n\nTypes: deb\nURIs: http://off.example/\nSuites: x\nComponents: main\nEnabled: no\n',
      'etc/apt/sources.list.d/c.list.disabled-by-farm': 'deb http://disabled.example/ x main\n',
      'etc/apt/sources.list.d/d.list': 'deb http://d.example/ubuntu jammy main\n',
      'etc/apt/sources.list.d/e.sources': INLINE_KEY,
    });
    const s = await readHostSources(root);
    expect(s.map((x) => `${x.uri} ${x.suite}`)).toEqual([
      'http://a.example/debian bookworm',
      'http://b.example/debian bookworm',
      'http://b.example/debian bookworm-updates',
      'http://b2.example/debian bookworm',
      'http://b2.example/debian bookworm-updates',
      'http://d.example/ubuntu jammy',
      'http://inline.example/debian stable',
    ]);
    expect(s[0]).toMatchObject({ components: ['main', 'contrib'], architectures: ['amd64', 'arm64'], signedBy: { files: ['/usr/share/keyrings/a.gpg'] } });
    expect(s[1]).toMatchObject({ components: ['main'], architectures: ['amd64'], signedBy: { files: ['/usr/share/keyrings/b.gpg'] }, file: join(root, 'etc/apt/sources.list.d/b.sources') });
    expect(s[5].signedBy).toBeUndefined();
    expect(s[6].signedBy).toEqual({ armored: '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZabc\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n' });
  });

  it('returns nothing for a host without apt configuration', async () => {
    expect(await readHostSources(join(tmpdir(), 'airgap-no-such-root'))).toEqual([]);
  });
});
