import type { Hook } from '@oclif/core';
import { nearestText } from '@airgap/core';

/** `airgap upack …`: name the nearest commands (exit 2, a usage error: docs/exit-codes.md). */
const hook: Hook<'command_not_found'> = async function (opts) {
  const ids = opts.config.commandIDs.map((id) => id.replace(/:/g, ' '));
  const asked = opts.id.replace(/:/g, ' ');
  const near = nearestText(asked, ids, 'did you mean');
  process.stderr.write(`error: ${asked} is not an airgap command${near}\n  hint: airgap --help lists the commands\n`);
  process.exitCode = 2;
};

export default hook;
