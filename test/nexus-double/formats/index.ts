import type { FormatHandler } from '../types.js';
import { helm } from './helm.js';
import { npm } from './npm.js';
import { apt } from './apt.js';
import { pypi } from './pypi.js';
import { raw } from './raw.js';
import { yum } from './yum.js';

/** Every format the double speaks. One module per format; add yours here (README.md). */
export const formats: FormatHandler[] = [raw, apt, pypi, npm, yum, helm];
