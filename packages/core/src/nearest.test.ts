import { describe, expect, it } from 'vitest';
import { distance, nearest, nearestText } from './nearest.js';

describe('nearest', () => {
  it('ranks by edit distance, a swapped pair counting as one edit', () => {
    expect(distance('nginx', 'ngnix')).toBe(1);
    expect(nearest('ngnix', ['nginx', 'nginx-full', 'apache2', 'ngircd'])).toEqual(['nginx']);
  });
  it('gives nothing when nothing is near', () => {
    expect(nearest('kubectl', ['nginx', 'curl'])).toEqual([]);
    expect(nearestText('kubectl', ['nginx'])).toBe('');
  });
  it('keeps names containing what was asked for', () => {
    expect(nearest('redis', ['redis-cluster', 'postgresql'])).toEqual(['redis-cluster']);
  });
});
