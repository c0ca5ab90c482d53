#!/usr/bin/env node
// Development entry: same as run.js (the CLI is compiled by `npm run build`; `prepare` builds on `npm ci`).
import { execute } from '@oclif/core';

await execute({ development: true, dir: import.meta.url });
