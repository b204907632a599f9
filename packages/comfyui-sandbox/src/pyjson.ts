// JSON the way Python's `json.dumps` writes it (aiohttp's `json_response` and ComfyUI's
// WebSocket messages use it): `", "` and `": "` separators and non-ASCII escaped as \uXXXX.
// Byte-exactness matters for the metadata block of binary preview frames (event 4), whose
// length prefix clients use to find the image bytes.

/** A number Python holds as a float: written with a `.0` when it is integral (`12.0`). */
export class PyFloat {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

function str(value: string): string {
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

function num(value: number, float: boolean): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  const text = String(value);
  if (float && Number.isInteger(value) && !text.includes('e')) return `${text}.0`;
  return text;
}

/** Serializes `value` exactly like Python's `json.dumps(value)` with default arguments. */
export function pyDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof PyFloat) return num(value.value, true);
  switch (typeof value) {
    case 'string':
      return str(value);
    case 'number':
      return num(value, false);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => pyDumps(v)).join(', ')}]`;
      if (value instanceof Uint8Array) return 'null';
      const parts: string[] = [];
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v === undefined || typeof v === 'function') continue;
        parts.push(`${str(k)}: ${pyDumps(v)}`);
      }
      return `{${parts.join(', ')}}`;
    }
    default:
      return 'null';
  }
}
