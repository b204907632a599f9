// Values sent to PostgreSQL as jsonb text (raw statements that take rows as JSON).

/** A UTF-16 code unit of a surrogate pair without its other half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * JSON for a `::jsonb` parameter. A lone surrogate in a string (a prompt may hold one, and
 * so may a file name ComfyUI reports) becomes U+FFFD, as it does in a text parameter (UTF-8
 * has no encoding for it); JSON.stringify would keep it as a \uD800 escape, which
 * PostgreSQL's jsonb refuses.
 */
export function jsonbText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'string' ? v.replace(LONE_SURROGATE, '\uFFFD') : v,
  );
}
