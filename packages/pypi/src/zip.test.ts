import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileRandomAccess, findWheelMetadata, readCentralDirectory, readEntry } from './zip.js';

// Archives made by Python's zipfile (the module wheel builders use), including ZIP64 and a comment.
let dir: string;
const METADATA = 'Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n' + 'Requires-Dist: x\n'.repeat(200);
const make = async (name: string, opts: string) => {
  const path = join(dir, name);
  const script = [
    'import sys, zipfile',
    `z = zipfile.ZipFile(sys.argv[1], "w", ${opts})`,
    'z.writestr("demo/__init__.py", "x = 1\\n" * 1000)',
    'z.writestr("demo-1.0.dist-info/METADATA", sys.argv[2])',
    'z.writestr("vendored/other-2.0.dist-info/METADATA", "Name: other\\n")',
    'z.writestr("demo-1.0.dist-info/RECORD", "")',
    'z.comment = b"c" * 300',
    'z.close()',
  ].join('\n');
  await execa('python3', ['-c', script, path, METADATA]);
  return path;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-zip-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('wheel METADATA from the zip central directory', () => {
  it.each([
    ['deflated', 'compression=zipfile.ZIP_DEFLATED'],
    ['stored', 'compression=zipfile.ZIP_STORED'],
    ['members written with force_zip64 (ZIP64 extra fields in the local headers)', 'compression=zipfile.ZIP_DEFLATED, allowZip64=True'],
  ])('%s', async (_label, opts) => {
    const path = await make(`${_label.replace(/\W/g, '')}.whl`, opts);
    if (_label.startsWith('members')) {
      // Local headers then carry a ZIP64 extra field, which moves where the data starts.
      await execa('python3', ['-c', [
        'import sys, zipfile',
        'src = zipfile.ZipFile(sys.argv[1]); out = zipfile.ZipFile(sys.argv[1] + ".64", "w", zipfile.ZIP_DEFLATED)',
        'for i in src.infolist():',
        '    with out.open(i.filename, "w", force_zip64=True) as f: f.write(src.read(i))',
        'out.close()',
      ].join('\n'), path]);
    }
    const zip = await fileRandomAccess(_label.startsWith('members') ? path + '.64' : path);
    try {
      const entries = await readCentralDirectory(zip);
      expect(entries.map((e) => e.name)).toContain('demo/__init__.py');
      const entry = findWheelMetadata(entries, 'demo', '1.0');
      expect(entry?.name).toBe('demo-1.0.dist-info/METADATA');
      expect((await readEntry(zip, entry!)).toString()).toBe(METADATA);
    } finally {
      await zip.close();
    }
  });

  it('refuses what is not a zip', async () => {
    const path = join(dir, 'not.whl');
    await execa('python3', ['-c', 'open(__import__("sys").argv[1], "wb").write(b"x" * 5000)', path]);
    const zip = await fileRandomAccess(path);
    await expect(readCentralDirectory(zip)).rejects.toThrow(/not a zip file/);
    await zip.close();
  });
});
