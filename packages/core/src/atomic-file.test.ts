import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { pipeToNewFile, writeFileAtomic, writeStreamAtomic } from './atomic-file.js';
import { ConfinedRoot } from './confined-root.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
const temp = async () => {
  const d = await mkdtemp(join(tmpdir(), 'airgap-atomic-'));
  dirs.push(d);
  return d;
};

describe('atomic files', () => {
  it('write beside the target by default, or in tmpDir; nothing is left but the final file', async () => {
    const d = await temp();
    await writeFileAtomic(join(d, 'a', 'x.txt'), 'one');
    await writeStreamAtomic(Readable.from([Buffer.from('two')]), join(d, 'a', 'y.txt'), { tmpDir: join(d, '.t') });
    expect(await readFile(join(d, 'a', 'x.txt'), 'utf8')).toBe('one');
    expect(await readFile(join(d, 'a', 'y.txt'), 'utf8')).toBe('two');
    expect((await readdir(join(d, 'a'))).sort()).toEqual(['x.txt', 'y.txt']);
    expect(await readdir(join(d, '.t'))).toEqual([]);
  });

  it('a stream that fails leaves neither a final file nor a temporary one', async () => {
    const d = await temp();
    const failing = new Readable({ read() { this.push(Buffer.alloc(1000)); this.destroy(new Error('cut')); } });
    await expect(writeStreamAtomic(failing, join(d, 'f', 'z.bin'), { tmpDir: join(d, '.t') })).rejects.toThrow('cut');
    expect(await readdir(join(d, 'f'))).toEqual([]);
    expect(await readdir(join(d, '.t'))).toEqual([]);
  });

  it('a stream into a new file: the file exists before the first byte is asked for, and no descriptor on it is open once a failure is thrown', async () => {
    // The order that keeps "remove the temporary file on error" true: with an asynchronous open, the file
    // could appear after the caller's rm had run (a flaky test showed it, about once in 4,000 tries).
    const path = join(await temp(), 'n.bin');
    const existedAtFirstRead: boolean[] = [];
    const failing = new Readable({
      read() {
        existedAtFirstRead.push(existsSync(path));
        this.push(Buffer.alloc(1000));
        this.destroy(new Error('cut'));
      },
    });
    await expect(pipeToNewFile(failing, path)).rejects.toThrow('cut');
    expect(existedAtFirstRead[0]).toBe(true);
    const open = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(join('/proc/self/fd', fd)).catch(() => '')));
    expect(open).not.toContain(path);
  });

  it('a confined mirror writes through <mirror>/.airgap-tmp/, never inside a published folder', async () => {
    const d = await temp();
    const root = new ConfinedRoot(join(d, 'mirror')).under('files');
    let seen: string[] = [];
    async function* slow() {
      yield Buffer.from('part one ');
      // the write stream opens its file asynchronously: give it a moment to exist
      for (let i = 0; i < 2000 && seen.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 5));
        seen = await readdir(join(d, 'mirror', '.airgap-tmp')).catch(() => []);
      }
      expect(await readdir(join(d, 'mirror', 'files', 'sub'))).toEqual([]);
      yield Buffer.from('part two');
    }
    await root.writeStream('sub/file.txt', slow());
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^\.airgap-[0-9a-f]{12}\.tmp$/);
    expect(await readFile(join(d, 'mirror', 'files', 'sub', 'file.txt'), 'utf8')).toBe('part one part two');
    expect(await readdir(join(d, 'mirror', '.airgap-tmp'))).toEqual([]);
  });
});
