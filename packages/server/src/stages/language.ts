// A cheap, local language guess for the TRANSLATE stage: it lets the stage skip the LLM
// for obvious English and name the source language in its message ("Translated from
// German"). Only the script and common function words are looked at; when unsure it
// answers null and the LLM decides.

// Function words that are frequent in prompts and rare in the other listed languages.
const FUNCTION_WORDS: Record<string, string[]> = {
  English: [
    'the',
    'a',
    'an',
    'of',
    'with',
    'and',
    'on',
    'at',
    'in',
    'under',
    'over',
    'behind',
    'from',
    'by',
    'is',
    'are',
    'its',
    'their',
    'his',
    'her',
    'into',
    'near',
    'through',
    'wearing',
    'holding',
    'standing',
    'sitting',
    'this',
    'that',
    'some',
    'made',
  ],
  German: [
    'der',
    'die',
    'das',
    'und',
    'ein',
    'eine',
    'einen',
    'einem',
    'einer',
    'im',
    'mit',
    'auf',
    'dem',
    'den',
    'des',
    'ist',
    'sind',
    'vor',
    'unter',
    'über',
    'bei',
    'zwischen',
    'nicht',
  ],
  French: [
    'le',
    'la',
    'les',
    'un',
    'une',
    'des',
    'du',
    'et',
    'avec',
    'sur',
    'dans',
    'est',
    'sous',
    'au',
    'aux',
    'ce',
    'cette',
  ],
  Spanish: [
    'el',
    'la',
    'los',
    'las',
    'un',
    'una',
    'unos',
    'unas',
    'y',
    'con',
    'sobre',
    'en',
    'es',
    'del',
    'al',
    'bajo',
    'junto',
  ],
  Italian: [
    'il',
    'lo',
    'la',
    'gli',
    'le',
    'un',
    'uno',
    'una',
    'e',
    'con',
    'sul',
    'sulla',
    'nel',
    'nella',
    'di',
    'del',
    'della',
    'è',
    'sotto',
  ],
  Portuguese: [
    'o',
    'os',
    'as',
    'um',
    'uma',
    'e',
    'com',
    'sobre',
    'em',
    'no',
    'na',
    'do',
    'da',
    'dos',
    'das',
    'é',
    'sob',
  ],
  Dutch: ['de', 'het', 'een', 'en', 'met', 'op', 'onder', 'bij', 'van', 'zijn', 'naast'],
};

const WORD_SETS = Object.entries(FUNCTION_WORDS).map(
  ([language, words]) => [language, new Set(words)] as const,
);

// Scripts that name their language well enough for a message.
const SCRIPTS: [RegExp, string][] = [
  [/[\p{Script=Hiragana}\p{Script=Katakana}]/u, 'Japanese'],
  [/\p{Script=Hangul}/u, 'Korean'],
  [/\p{Script=Han}/u, 'Chinese'],
  [/[іїєґ]/iu, 'Ukrainian'],
  [/\p{Script=Cyrillic}/u, 'Russian'],
  [/\p{Script=Greek}/u, 'Greek'],
  [/\p{Script=Hebrew}/u, 'Hebrew'],
  [/\p{Script=Arabic}/u, 'Arabic'],
  [/\p{Script=Devanagari}/u, 'Hindi'],
  [/\p{Script=Thai}/u, 'Thai'],
];

const LETTER = /\p{L}/gu;
const LATIN_LETTER = /\p{Script=Latin}/gu;
// ASCII plus typographic punctuation that English text carries (’ “ ” – — …).
const ENGLISH_CHARS = /^[\x20-\x7e\s’‘“”–—…]*$/;

/** The language a text is most likely written in, or null when unsure. */
export function guessLanguage(text: string): string | null {
  const letters = text.match(LETTER)?.length ?? 0;
  if (letters === 0) return null;
  const latin = text.match(LATIN_LETTER)?.length ?? 0;
  if (latin / letters < 0.5) {
    for (const [script, language] of SCRIPTS) if (script.test(text)) return language;
    return null;
  }
  if (/ß/.test(text)) return 'German';
  if (/ñ/i.test(text)) return 'Spanish';
  if (/[ãõ]/i.test(text)) return 'Portuguese';
  const scores = functionWordScores(text);
  const [best, second] = scores;
  if (!best || best.hits === 0 || (second && second.hits === best.hits)) return null;
  return best.language;
}

/**
 * True only for text that is obviously English: plain ASCII, at least two English
 * function words and none of another listed language. Comma-separated keyword lists
 * ("portrait, oil, dramatic light") are not obvious and go to the LLM.
 */
export function isObviouslyEnglish(text: string): boolean {
  if (!ENGLISH_CHARS.test(text)) return false;
  const scores = functionWordScores(text);
  const english = scores.find((s) => s.language === 'English')?.hits ?? 0;
  const other = scores.filter((s) => s.language !== 'English').some((s) => s.hits > 0);
  return english >= 2 && !other;
}

function functionWordScores(text: string): { language: string; hits: number }[] {
  const words = text.toLowerCase().match(/\p{L}+/gu) ?? [];
  return WORD_SETS.map(([language, set]) => ({
    language,
    hits: words.filter((w) => set.has(w)).length,
  })).sort((a, b) => b.hits - a.hits);
}
