import { describe, expect, it } from 'vitest';
import { runAirgap } from '../harness/index.js';

describe('a mistyped command', () => {
  it('is a usage error (exit 2) naming the nearest commands', async () => {
    const r = await runAirgap(['upack']);
    expect(r.stderr).toMatch(/did you mean: .*\bunpack\b/);
    expect(r.exitCode).toBe(2);
    const t = await runAirgap(['ledger', 'shwo']);
    expect(t.stderr).toContain('ledger show');
    expect(t.exitCode).toBe(2);
  });
});
