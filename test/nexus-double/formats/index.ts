import type { FormatHandler } from '../types.js';
import { pypi } from './pypi.js';
import { raw } from './raw.js';

/** Every format the double speaks. One module per format; add yours here (README.md). */
export const formats: FormatHandler[] = [raw, pypi];
