import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HttpClient, IntegrityError } from '@airgap/core';
import { readPublicKey } from '@airgap/bundle';
import { Reporter } from '../../src/report.js';
import { unpack } from '../../src/unpack.js';
import { tempDir } from '../harness/index.js';
import { type Forged, blob, forgeBundle, signingKey, snapshot } from './forge.js';

/** A reporter that changes a part of the bundle when publishing starts: after verification, before the blobs are read. */
class TamperingReporter extends Reporter {
  constructor(private readonly tamper: () => Promise<void>) {
    super('json');
  }
  override async phase<T>(title: string, fn: () => Promise<T>): Promise<T> {
    if (title.startsWith('Publishing')) await this.tamper();
    return super.phase(title, fn);
  }
}

function fileArtifact(i: number, bytes: Buffer): Forged {
  const b = blob(bytes);
  return {
    artifact: { kind: 'file', name: `f${i}.bin`, version: '', digest: b.d.digest, blobs: [b.d], upstream: { url: `http://127.0.0.1/f${i}.bin`, verified: 'test' }, meta: { path: `f${i}.bin` } },
    bytes: new Map([[b.d.digest, b.bytes]]),
  };
}

describe('an integrity failure during publish stops the run (docs/security.md)', () => {
  it('a part changed after verification: exit 3, nothing further published, the ledger says why', async () => {
    const root = await tempDir('airgap-sec-stop-');
    const { key, pubFile } = await signingKey(join(root, 'keys'));
    const contents = [0, 1, 2, 3].map((i) => Buffer.alloc(6000, 65 + i));
    const dir = await forgeBundle(join(root, 'b'), key, contents.map((c, i) => fileArtifact(i, c)), { chunkSize: 4096 });
    // Flip one byte of the second file's bytes inside whichever part holds it.
    const tamper = async () => {
      const parts = (await readdir(dir)).filter((f) => f.startsWith('part-')).sort();
      const whole = Buffer.concat(await Promise.all(parts.map((p) => readFile(join(dir, p)))));
      let at = whole.indexOf(contents[1]) + 100;
      for (const p of parts) {
        const size = (await readFile(join(dir, p))).length;
        if (at < size) {
          const fh = await open(join(dir, p), 'r+');
          await fh.write(Buffer.from('Z'), 0, 1, at);
          await fh.close();
          return;
        }
        at -= size;
      }
    };
    const reporter = new TamperingReporter(tamper);
    const mirror = join(root, 'mirror');
    const ledger = join(root, 'ledger.jsonl');
    const err = await unpack({
      bundleDir: dir, to: `dir:${mirror}`, trust: [await readPublicKey(pubFile)], insecureSkipSignature: false, ledgerPath: ledger,
      dryRun: false, concurrency: 1, config: {}, http: new HttpClient({}, reporter), reporter,
    }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toMatch(/unpack stopped: blob sha256:[a-f0-9]{64} is corrupt.*nothing further was published/);
    // f0 went in before the damage was met; f1 failed; f2 and f3 were never started.
    expect([...(await snapshot(join(mirror, 'files'))).keys()]).toEqual(['f0.bin']);
    const records = (await readFile(ledger, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(records.filter((r) => r.kind === 'file').map((r) => [r.name, r.action])).toEqual([['f0.bin', 'pushed'], ['f1.bin', 'failed']]);
    expect(records.find((r) => r.kind === 'file' && r.name === 'f1.bin').error).toMatch(/is corrupt: its bytes hash to/);
    const end = records.find((r) => r.kind === 'run' && r.action === 'end');
    expect(end.error).toMatch(/^stopped: integrity failure while publishing: blob sha256:/);
    expect(end.note.stopped).toBe('integrity');
  });
});
