import { describe, expect, it } from 'vitest';
import {
  aliasName,
  assignVisibleNames,
  parseAlias,
  resolveVisibleName,
  type NamedUpstreamFile,
} from '../../src/drive/duplicate-names.js';

const file = (name: string, id: string, iso: string): NamedUpstreamFile => ({
  name,
  url: `https://1fichier.com/?${id}`,
  modified: new Date(iso),
});

describe('duplicate names', () => {
  const older = file('movie.mkv', 'aaaaaaaaaaaaaaaaaaaa', '2024-01-01T00:00:00Z');
  const newest = file('movie.mkv', 'bbbbbbbbbbbbbbbbbbbb', '2024-06-01T00:00:00Z');
  const middle = file('movie.mkv', 'cccccccccccccccccccc', '2024-03-01T00:00:00Z');
  const unique = file('notes.txt', 'dddddddddddddddddddd', '2024-02-01T00:00:00Z');

  it('gives the plain name to the newest and a stable id alias to the others', () => {
    const visible = assignVisibleNames([older, newest, middle, unique], new Set());
    expect([...visible.keys()].sort()).toEqual([
      'movie [aaaaaaaaaaaaaaaaaaaa].mkv',
      'movie [cccccccccccccccccccc].mkv',
      'movie.mkv',
      'notes.txt',
    ]);
    expect(visible.get('movie.mkv')).toBe(newest);
  });

  it('is independent of listing order', () => {
    const a = assignVisibleNames([older, newest, middle], new Set());
    const b = assignVisibleNames([middle, older, newest], new Set());
    expect([...a.entries()].sort()).toEqual([...b.entries()].sort());
  });

  it('resolves the alias of the newest file too, so a seen path stays valid', () => {
    const files = [older, newest];
    const visible = assignVisibleNames(files, new Set());
    expect(resolveVisibleName(visible, files, 'movie [bbbbbbbbbbbbbbbbbbbb].mkv')).toBe(newest);
    expect(resolveVisibleName(visible, files, 'movie [aaaaaaaaaaaaaaaaaaaa].mkv')).toBe(older);
    expect(resolveVisibleName(visible, files, 'movie [zzzzzzzzzzzzzzzzzzzz].mkv')).toBeUndefined();
  });

  it('leaves the plain name to a sub-folder of the same name', () => {
    const visible = assignVisibleNames([unique], new Set(['notes.txt']));
    expect([...visible.keys()]).toEqual(['notes [dddddddddddddddddddd].txt']);
  });

  it('keeps a real file literally named like an alias', () => {
    const literal = file('movie [aaaaaaaaaaaaaaaaaaaa].mkv', 'eeeeeeeeeeeeeeeeeeee', '2020-01-01T00:00:00Z');
    const files = [older, newest, literal];
    const visible = assignVisibleNames(files, new Set());
    expect(visible.get('movie [aaaaaaaaaaaaaaaaaaaa].mkv')).toBe(literal);
    expect(visible.get('movie.mkv')).toBe(newest);
  });

  it('parses aliases, with and without extensions and for dot files', () => {
    expect(aliasName('.bashrc', 'https://1fichier.com/?abcde')).toBe('.bashrc [abcde]');
    expect(parseAlias('.bashrc [abcde]')).toEqual({ name: '.bashrc', id: 'abcde' });
    expect(parseAlias('a.tar.gz')).toBeUndefined();
    expect(parseAlias(aliasName('a.tar.gz', 'https://1fichier.com/?xyz12'))).toEqual({ name: 'a.tar.gz', id: 'xyz12' });
  });
});
