// Guards every GraphQL request passes, whatever its transport (HTTP, SSE, WebSocket), for
// inputs that would otherwise fail deep inside a library as an unexpected error (HTTP 500):
// - documents nested deeper than graphql-js' recursive parser can go (a stack overflow
//   before the token limit stops it);
// - `variables` / `extensions` that are not JSON in GET and form-encoded requests (Yoga
//   calls JSON.parse on them unguarded);
// - NUL characters in text, which PostgreSQL refuses to store.
import { type DocumentNode, Kind, visit } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { Upload } from './media/multipart.ts';

/** Deepest nesting of `{`, `[` and `(` a document may have (selections are limited to 12). */
export const MAX_NESTING = 64;

/** Refuses documents nested deeper than `max` before they reach the parser. */
export function useNestingLimit(max = MAX_NESTING): Plugin {
  return {
    onParse({ params }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      if (nestingExceeds(source, max)) {
        throw createGraphQLError(`Syntax Error: the document nests deeper than ${max} levels.`, {
          extensions: { code: 'GRAPHQL_PARSE_FAILED', http: { status: 400 } },
        });
      }
    },
  };
}

/** True when brackets nest deeper than `max` outside strings and comments. */
export function nestingExceeds(source: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x23 /* # */) {
      while (i < source.length && source.charCodeAt(i) !== 0x0a) i++;
    } else if (c === 0x22 /* " */) {
      if (source.startsWith('"""', i)) {
        const end = source.indexOf('"""', i + 3);
        i = end < 0 ? source.length : end + 2;
      } else {
        for (i++; i < source.length; i++) {
          const d = source.charCodeAt(i);
          if (d === 0x5c /* \ */) i++;
          else if (d === 0x22 || d === 0x0a) break;
        }
      }
    } else if (c === 0x7b || c === 0x5b || c === 0x28) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d || c === 0x29) {
      depth--;
    }
  }
  return false;
}

/** Answers 400 when a GET or form request's `variables` or `extensions` are not JSON. */
export function useJsonParamsGuard(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (error instanceof SyntaxError) {
            throw createGraphQLError(`Invalid JSON in the request parameters: ${error.message}`, {
              extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
            });
          }
          throw error;
        }
      });
    },
  };
}

const NUL_ERROR = 'Text must not contain NUL (\\u0000) characters.';

/** Refuses operations whose strings (in the document or the variables) contain NUL. */
export function useNoNulText(): Plugin {
  const refuse = () => ({
    errors: [
      createGraphQLError(NUL_ERROR, {
        extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
      }),
    ],
  });
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (hasNulText(args.document, args.variableValues)) setResultAndStopExecution(refuse());
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      if (hasNulText(args.document, args.variableValues)) setResultAndStopExecution(refuse());
    },
  };
}

function hasNulText(document: DocumentNode, variables: unknown): boolean {
  if (containsNul(variables, 0)) return true;
  let found = false;
  visit(document, {
    [Kind.STRING]: (node) => {
      if (node.value.includes('\u0000')) found = true;
    },
  });
  return found;
}

function containsNul(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object' || value instanceof Upload || depth > 64) {
    return false;
  }
  if (Array.isArray(value)) return value.some((item) => containsNul(item, depth + 1));
  return Object.entries(value).some(
    ([key, item]) => key.includes('\u0000') || containsNul(item, depth + 1),
  );
}
