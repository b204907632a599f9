// The blocklist matcher: whole words and phrases, Unicode, obfuscations, and no false hits.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BLOCKLIST,
  findBlockedTerm,
  parseBlocklist,
  resolveBlocklist,
} from './blocklist.ts';

const list = ['ass', 'bad word', 'porn*', 'Straße', 'нож'];

describe('findBlockedTerm', () => {
  it('matches whole words in any case', () => {
    expect(findBlockedTerm('a donkey, or ASS, in a field', list)).toBe('ass');
    expect(findBlockedTerm('Ass', list)).toBe('ass');
  });

  it('does not match inside words', () => {
    for (const text of ['a classic car', 'assassin', 'embarrassing glass', 'bass guitar']) {
      expect(findBlockedTerm(text, list), text).toBeNull();
    }
    expect(findBlockedTerm('a badword', list)).toBeNull();
    expect(findBlockedTerm('bad wordsmith', list)).toBeNull();
  });

  it('matches phrases across any spaces or punctuation', () => {
    expect(findBlockedTerm('a BAD   word here', list)).toBe('bad word');
    expect(findBlockedTerm('bad-word', list)).toBe('bad word');
    expect(findBlockedTerm('bad,\nword', list)).toBe('bad word');
  });

  it('treats a trailing * as any ending', () => {
    expect(findBlockedTerm('pornographic', list)).toBe('porn*');
    expect(findBlockedTerm('porn', list)).toBe('porn*');
    expect(findBlockedTerm('a sporn', list)).toBeNull();
  });

  it('is Unicode-aware', () => {
    expect(findBlockedTerm('die STRASSE'.toLowerCase(), list)).toBeNull();
    expect(findBlockedTerm('Die Straße ist nass', list)).toBe('Straße');
    expect(findBlockedTerm('большой НОЖ', list)).toBe('нож');
    expect(findBlockedTerm('ножницы', list)).toBeNull();
    // Letters with accents are letters: no boundary inside "sássy".
    expect(findBlockedTerm('sássy', list)).toBeNull();
  });

  it('catches simple obfuscations', () => {
    for (const text of [
      'a s s',
      'a.s.s',
      'a-s-s',
      'p o r n o',
      'p0rn',
      '@ss',
      'p\u200Born', // zero-width space
      'ｐｏｒｎ', // full-width letters
      'pоrn', // Cyrillic о
    ]) {
      expect(findBlockedTerm(text, list), text).not.toBeNull();
    }
    // Mixed separators or chunks longer than one letter are ordinary text.
    expect(findBlockedTerm('a SS officer', list)).toBeNull();
    expect(findBlockedTerm('a s-s', list)).toBeNull();
  });

  it('lets art-history subjects and common negative prompts through the default list', () => {
    for (const text of [
      'The Rape of Europa after Titian',
      'Judith Beheading Holofernes, Caravaggio',
      'a reclining nude, Venus of Urbino',
      'nsfw, nude, blurry, lowres',
      'a pedometer and a lollipop, shotgun',
    ]) {
      expect(findBlockedTerm(text, DEFAULT_BLOCKLIST), text).toBeNull();
    }
    expect(findBlockedTerm('hardcore PORN', DEFAULT_BLOCKLIST)).not.toBeNull();
    expect(findBlockedTerm('naked children', DEFAULT_BLOCKLIST)).not.toBeNull();
  });
});

describe('blocklist configuration', () => {
  it('parses lines and commas, ignoring comments, blanks and duplicates', () => {
    expect(parseBlocklist('# comment\nfoo, bar\n\n  baz  \nFOO\n')).toEqual(['foo', 'bar', 'baz']);
  });

  it('uses the default unless replaced, "none" empties it, a file adds terms', () => {
    expect(resolveBlocklist(undefined)).toEqual([...DEFAULT_BLOCKLIST]);
    expect(resolveBlocklist('foo,bar')).toEqual(['foo', 'bar']);
    expect(resolveBlocklist('none')).toEqual([]);
    expect(resolveBlocklist('none', 'x\ny')).toEqual(['x', 'y']);
    expect(resolveBlocklist(undefined, 'extra')).toEqual([...DEFAULT_BLOCKLIST, 'extra']);
  });
});
