// The local language guess behind TRANSLATE's shortcut and messages.
import { describe, expect, it } from 'vitest';
import { guessLanguage, isObviouslyEnglish } from './language.ts';

describe('guessLanguage', () => {
  it('names languages by their function words, special letters or script', () => {
    expect(guessLanguage('ein roter Fuchs im Schnee')).toBe('German');
    expect(guessLanguage('Straße bei Nacht')).toBe('German');
    expect(guessLanguage('un chat sur le toit')).toBe('French');
    expect(guessLanguage('un perro con sombrero en el parque')).toBe('Spanish');
    expect(guessLanguage('a cat on the roof')).toBe('English');
    expect(guessLanguage('屋根の上の猫')).toBe('Japanese');
    expect(guessLanguage('屋顶上的猫')).toBe('Chinese');
    expect(guessLanguage('кошка на крыше')).toBe('Russian');
  });

  it('answers null when unsure', () => {
    expect(guessLanguage('portrait, oil, chiaroscuro')).toBeNull();
    expect(guessLanguage('1234 !!')).toBeNull();
  });
});

describe('isObviouslyEnglish', () => {
  it('needs plain text with English function words and no foreign ones', () => {
    expect(isObviouslyEnglish('a cat sitting on the roof')).toBe(true);
    expect(isObviouslyEnglish('a cat’s “home” at the sea')).toBe(true);
    expect(isObviouslyEnglish('portrait, oil painting')).toBe(false);
    expect(isObviouslyEnglish('ein Hund in the park')).toBe(false);
    expect(isObviouslyEnglish('a cat on the roof, Ölgemälde')).toBe(false);
    expect(isObviouslyEnglish('un perro en el parque')).toBe(false);
  });
});
