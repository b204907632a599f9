// The content blocklist of the TRANSLATE stage's safety check. Terms match as whole words
// or phrases, case-insensitively, in any script; simple obfuscations are caught too:
// letters spaced out with one repeated separator ("p o r n", "p.o.r.n"), common digit and
// symbol substitutions ("p0rn", "$ex"), invisible characters between letters, compatibility
// forms (full-width letters) and Cyrillic/Greek look-alike letters.
//
// Term syntax: one term per entry; words separated by spaces match across any run of
// spaces or punctuation ("child porn" matches "child-porn" and "child, porn"); a `*` at the
// end of a word matches any ending ("porn*" matches "porno", "pornographic").

/**
 * The built-in list: deliberately short and narrow (sexual content involving minors,
 * pornography, bestiality), so that art-history subjects — nudes, "The Rape of Europa",
 * "Judith Beheading Holofernes" — and common negative prompts ("nsfw, nude") pass.
 * Operators extend or replace it (see `resolveBlocklist`).
 */
export const DEFAULT_BLOCKLIST: readonly string[] = [
  'porn*',
  'hentai',
  'csam',
  'loli',
  'lolicon',
  'shota',
  'shotacon',
  'jailbait',
  'pedo',
  'paedo',
  'pedophil*',
  'paedophil*',
  'underage sex*',
  'child sex*',
  'naked child*',
  'nude child*',
  'naked minor*',
  'nude minor*',
  'naked kid*',
  'nude kid*',
  'bestiality',
  'zoophil*',
  'necrophil*',
  'nudify',
  'deepnude',
];

/**
 * Parses blocklist text: one term per line or comma-separated; blank lines and lines
 * starting with `#` are ignored; duplicates (after normalisation) are dropped.
 */
export function parseBlocklist(text: string): string[] {
  const terms: string[] = [];
  const seen = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    if (line.trim().startsWith('#')) continue;
    for (const part of line.split(',')) {
      const term = part.trim();
      const key = normalizeForMatching(term);
      if (!term || seen.has(key)) continue;
      seen.add(key);
      terms.push(term);
    }
  }
  return terms;
}

/**
 * The effective blocklist from the configuration: `list` (CONTENT_BLOCKLIST,
 * comma-separated) replaces the built-in list when set, and the value `none` empties it;
 * `fileText` (the content of CONTENT_BLOCKLIST_FILE) adds its terms.
 */
export function resolveBlocklist(list?: string | null, fileText?: string | null): string[] {
  const base =
    list === undefined || list === null || list.trim() === ''
      ? [...DEFAULT_BLOCKLIST]
      : list.trim().toLowerCase() === 'none'
        ? []
        : parseBlocklist(list);
  return parseBlocklist([...base, ...(fileText ? [fileText] : [])].join('\n'));
}

// Look-alike letters from other scripts, folded onto the Latin letter they imitate.
const CONFUSABLES: Record<string, string> = {
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  і: 'i',
  ј: 'j',
  ѕ: 's',
  α: 'a',
  β: 'b',
  ε: 'e',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
};

// Only folded when a text mixes them with Latin letters, so that Russian or Greek text
// is matched as it is (and a Russian term on the list matches Russian text).
const LATIN = /\p{Script=Latin}/u;

/** NFKC, lower case, no invisible format characters; look-alikes folded in mixed text. */
export function normalizeForMatching(text: string): string {
  const base = text
    .normalize('NFKC')
    .replace(/\p{Cf}/gu, '')
    .toLowerCase();
  return foldConfusables(base);
}

function foldConfusables(text: string): string {
  // Fold look-alikes inside words that also contain Latin letters ("pоrn" with a Cyrillic о).
  return text.replace(/[\p{L}\p{M}]+/gu, (word) =>
    LATIN.test(word) ? [...word].map((c) => CONFUSABLES[c] ?? c).join('') : word,
  );
}

// Characters also typed for a letter ("p0rn", "$ex", "@ss").
const SUBSTITUTES: Record<string, string> = {
  a: 'a4@',
  e: 'e3',
  i: 'i1!',
  l: 'l1',
  o: 'o0',
  s: 's5$',
  t: 't7',
};

const WORD_CHAR = '[\\p{L}\\p{N}\\p{M}]';
const NOT_WORD = '[^\\p{L}\\p{N}\\p{M}]';

function letterPattern(char: string): string {
  const alternatives = SUBSTITUTES[char];
  if (!alternatives) return escapeRegExp(char);
  return `[${[...alternatives].map((c) => (/[\\\]^-]/.test(c) ? `\\${c}` : c)).join('')}]`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** A compiled term: the whole-word form and, for single words, the spaced-out form. */
interface CompiledTerm {
  term: string;
  patterns: RegExp[];
}

function compileTerm(term: string): CompiledTerm | null {
  // Words of the term; a trailing `*` makes the word a prefix. Punctuation inside a word
  // ("child-porn") separates words like a space does.
  const words: { text: string; prefix: boolean }[] = [];
  for (const token of normalizeForMatching(term).split(/\s+/)) {
    const prefix = token.endsWith('*');
    const parts = token.split(new RegExp(`${NOT_WORD}+`, 'u')).filter(Boolean);
    parts.forEach((text, i) => {
      words.push({ text, prefix: prefix && i === parts.length - 1 });
    });
  }
  if (words.length === 0) return null;
  const ending = (prefix: boolean) => (prefix ? `${WORD_CHAR}*` : '');
  const before = `(?<!${WORD_CHAR})`;
  const after = `(?!${WORD_CHAR})`;
  const whole = words
    .map((w) => [...w.text].map(letterPattern).join('') + ending(w.prefix))
    .join(`${NOT_WORD}+`);
  const patterns = [new RegExp(`${before}${whole}${after}`, 'u')];
  const [only] = words;
  if (words.length === 1 && only && [...only.text].length >= 3) {
    // Spaced out with the same short separator between every letter: "p o r n", "p-o-r-n".
    const [first, ...rest] = [...only.text].map(letterPattern);
    const spaced = `${first}(${NOT_WORD}{1,3})${rest.join('\\1')}`;
    patterns.push(new RegExp(`${before}${spaced}${ending(only.prefix)}${after}`, 'u'));
  }
  return { term, patterns };
}

/** A blocklist compiled for matching; build once per list (see `compileBlocklist`). */
export interface CompiledBlocklist {
  /** The first term that occurs in the text, or null. */
  find(text: string): string | null;
}

const cache = new WeakMap<readonly string[], CompiledBlocklist>();

/** Compiles a list of terms (cached per array instance). */
export function compileBlocklist(terms: readonly string[]): CompiledBlocklist {
  const cached = cache.get(terms);
  if (cached) return cached;
  const compiled = terms.map(compileTerm).filter((t): t is CompiledTerm => t !== null);
  const blocklist: CompiledBlocklist = {
    find(text) {
      const normalized = normalizeForMatching(text);
      for (const { term, patterns } of compiled) {
        if (patterns.some((p) => p.test(normalized))) return term;
      }
      return null;
    },
  };
  cache.set(terms, blocklist);
  return blocklist;
}

/** The first blocklist term found in `text`, or null. */
export function findBlockedTerm(text: string, terms: readonly string[]): string | null {
  return compileBlocklist(terms).find(text);
}
