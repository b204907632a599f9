// ComfyUI's own `/object_info` format converted into the node specifications the validator
// reads (comfyui-nodes.ts). `/object_info` is what a running ComfyUI declares, so it is the
// ground truth; the static extraction (nodes.json) only adds what `/object_info` cannot say:
// which model folder a run-time combo lists (its options there are the files of one machine),
// which inputs a node validates itself (VALIDATE_INPUTS), the source file of a class, and the
// classes that did not load on the machine `/object_info` was captured from.
import type { InputGroup, InputSpec, NodeClassSpec } from './comfyui-nodes.ts';

/** One input as `/object_info` writes it: `[type | options, {default, min, ...}]`. */
export type RawInput = [unknown, Record<string, unknown>?];

/** One node class as `/object_info` writes it. */
export interface RawNodeInfo {
  input: {
    required?: Record<string, RawInput>;
    optional?: Record<string, RawInput>;
    hidden?: Record<string, unknown>;
  };
  output: string[];
  output_name?: string[];
  output_is_list?: boolean[];
  is_input_list?: boolean;
  name?: string;
  display_name?: string;
  category?: string;
  python_module?: string;
  output_node?: boolean;
  deprecated?: boolean;
  experimental?: boolean;
  api_node?: boolean;
}

/** True when a parsed JSON value looks like an `/object_info` answer (class → node info). */
export function isObjectInfo(value: unknown): value is Record<string, RawNodeInfo> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const first = Object.values(value)[0] as Partial<RawNodeInfo> | undefined;
  return (
    !!first &&
    typeof first.input === 'object' &&
    first.input !== null &&
    Array.isArray(first.output)
  );
}

/** `comfy_extras.nodes_video` → `comfy_extras/nodes_video.py` (nodes.json's `source`). */
function sourceFile(pythonModule: string | undefined): string {
  if (!pythonModule) return 'nodes.py';
  return `${pythonModule.replaceAll('.', '/')}.py`;
}

/** The input's type plus its widget settings (default, min, max, socketless, ...). */
function baseSpec(type: string, opts: Record<string, unknown>): InputSpec {
  const spec: Record<string, unknown> = { type };
  for (const k in opts) if (k !== 'options' && k !== 'template') spec[k] = opts[k];
  return spec as unknown as InputSpec;
}

function convertInput(raw: RawInput, old: InputSpec | undefined): InputSpec {
  const [head, opts = {}] = raw;
  if (Array.isArray(head) || head === 'COMBO') {
    const spec = baseSpec('COMBO', opts);
    const listed = Array.isArray(head) ? head : (opts.options as unknown[] | undefined);
    // A run-time list (model files, uploads): the options are one machine's files, so keep the
    // folder the static extraction names and accept any file name, as before.
    const runtime = old?.type === 'COMBO' && !old.options;
    if (runtime) {
      if (old.folder !== undefined) spec.folder = old.folder;
    } else if (listed) spec.options = listed;
    return spec;
  }
  const type = String(head);
  if (type === 'COMFY_DYNAMICCOMBO_V3') {
    const options = (opts.options as { key: string; inputs: RawNodeInfo['input'] }[]) ?? [];
    const dynamic: Record<string, InputGroup> = {};
    for (const option of options) {
      dynamic[option.key] = convertGroup(option.inputs ?? {}, old?.dynamic?.[option.key]);
    }
    const spec = baseSpec(type, opts);
    spec.options = options.map((o) => o.key);
    spec.dynamic = dynamic;
    return spec;
  }
  if (type === 'COMFY_AUTOGROW_V3') {
    const t = (opts.template ?? {}) as {
      input?: RawNodeInfo['input'];
      names?: string[];
      prefix?: string;
      min?: number;
      max?: number;
    };
    const required = Object.values(t.input?.required ?? {});
    const optional = Object.values(t.input?.optional ?? {});
    const templateRaw = required[0] ?? optional[0];
    const names = t.names ?? Array.from({ length: t.max ?? 0 }, (_, i) => `${t.prefix ?? ''}${i}`);
    const spec = baseSpec(type, opts);
    if (templateRaw) spec.template = convertInput(templateRaw, old?.template);
    spec.template_optional = required.length === 0;
    spec.names = names;
    spec.min = t.min ?? 0;
    if (t.max !== undefined) spec.max = t.max;
    return spec;
  }
  if (type === 'COMFY_MATCHTYPE_V3') {
    const t = (opts.template ?? {}) as { template_id?: string; allowed_types?: string };
    const spec = baseSpec(type, opts);
    spec.template_id = t.template_id;
    spec.allowed_types = (t.allowed_types ?? '*').split(',').filter(Boolean);
    return spec;
  }
  return baseSpec(type, opts);
}

function convertGroup(raw: RawNodeInfo['input'], old: InputGroup | undefined): InputGroup {
  const out: InputGroup = { required: {}, optional: {} };
  for (const section of ['required', 'optional'] as const) {
    const inputs = raw[section];
    const target = out[section] as Record<string, InputSpec>;
    for (const name in inputs) {
      const previous = old?.required?.[name] ?? old?.optional?.[name];
      target[name] = convertInput(inputs[name] as RawInput, previous);
    }
  }
  return out;
}

/** One `/object_info` class as a node specification, completed from its static extraction. */
export function convertNodeInfo(
  name: string,
  info: RawNodeInfo,
  old: NodeClassSpec | undefined,
): NodeClassSpec {
  const hidden = Object.keys(info.input.hidden ?? {});
  return {
    source: old?.source ?? sourceFile(info.python_module),
    class: name,
    display_name: info.display_name,
    category: info.category,
    output_node: info.output_node === true,
    inputs: convertGroup(info.input, old?.inputs),
    ...(hidden.length ? { hidden } : {}),
    outputs: info.output,
    output_names: info.output_name ?? info.output,
    ...(old?.validate_inputs ? { validate_inputs: old.validate_inputs } : {}),
    ...(old?.accept_all_inputs ? { accept_all_inputs: true } : {}),
    ...(info.deprecated ? { deprecated: true } : {}),
    ...(info.experimental ? { experimental: true } : {}),
  };
}

/**
 * The classes of an `/object_info` answer, each converted on first use (the server validates
 * a few dozen of ~650 at start-up, so converting them all would only cost start time), then
 * the classes only the static extraction knows, as they were.
 */
class LazyClasses implements ReadonlyMap<string, NodeClassSpec> {
  private readonly converted = new Map<string, NodeClassSpec>();

  constructor(
    private readonly info: Record<string, RawNodeInfo>,
    private readonly old: ReadonlyMap<string, NodeClassSpec>,
    private readonly fallback: ReadonlySet<string>,
  ) {}

  get(name: string): NodeClassSpec | undefined {
    const done = this.converted.get(name);
    if (done) return done;
    if (Object.hasOwn(this.info, name)) {
      const spec = convertNodeInfo(name, this.info[name] as RawNodeInfo, this.old.get(name));
      this.converted.set(name, spec);
      return spec;
    }
    return this.fallback.has(name) ? this.old.get(name) : undefined;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.info, name) || this.fallback.has(name);
  }

  get size(): number {
    return Object.keys(this.info).length + this.fallback.size;
  }

  *keys(): MapIterator<string> {
    yield* Object.keys(this.info);
    yield* this.fallback;
  }

  *values(): MapIterator<NodeClassSpec> {
    for (const name of this.keys()) yield this.get(name) as NodeClassSpec;
  }

  *entries(): MapIterator<[string, NodeClassSpec]> {
    for (const name of this.keys()) yield [name, this.get(name) as NodeClassSpec];
  }

  [Symbol.iterator](): MapIterator<[string, NodeClassSpec]> {
    return this.entries();
  }

  forEach(
    fn: (value: NodeClassSpec, key: string, map: ReadonlyMap<string, NodeClassSpec>) => void,
  ) {
    for (const [name, spec] of this.entries()) fn(spec, name, this);
  }
}

/**
 * Node specifications from an `/object_info` answer (converted lazily), with the classes only
 * the static extraction knows kept as they were. Returns the classes and those fallbacks.
 */
export function specsFromObjectInfo(
  objectInfo: Record<string, RawNodeInfo>,
  staticClasses: ReadonlyMap<string, NodeClassSpec>,
): { classes: ReadonlyMap<string, NodeClassSpec>; fallback: string[] } {
  const fallback = [...staticClasses.keys()].filter((name) => !Object.hasOwn(objectInfo, name));
  fallback.sort();
  return { classes: new LazyClasses(objectInfo, staticClasses, new Set(fallback)), fallback };
}
