// ComfyUI's own `/object_info` answer (data/comfyui-object-info.json, captured from ComfyUI
// master 783545f689a0) converted into the sandbox's node specifications. `/object_info` is the
// ground truth for inputs, widgets and outputs; the static extraction (data/comfyui-nodes.json)
// only adds what `/object_info` cannot say: which model folder a run-time combo lists (its
// options there are one machine's files), which inputs a node validates itself, the source file
// and API version of a class, and the classes that did not load on the capturing machine.
import type { InputGroup, InputSpec, NodeClassSpec } from './specs.ts';

/** One input as `/object_info` writes it: `[type | options, {default, min, ...}]`. */
export type RawInput = [unknown, Record<string, unknown>?];

interface RawGroup {
  required?: Record<string, RawInput>;
  optional?: Record<string, RawInput>;
  hidden?: Record<string, unknown>;
}

/** One node class as `/object_info` writes it. */
export interface RawNodeInfo {
  input: RawGroup;
  output: string[];
  output_name?: string[];
  output_is_list?: boolean[];
  is_input_list?: boolean;
  display_name?: string;
  category?: string;
  python_module?: string;
  output_node?: boolean;
  deprecated?: boolean;
  experimental?: boolean;
}

/** The type plus the widget settings (default, min, max, socketless, tooltip, ...). */
function baseSpec(type: string, opts: Record<string, unknown>): InputSpec {
  const spec: InputSpec = { type };
  for (const k in opts) if (k !== 'options' && k !== 'template') spec[k] = opts[k];
  return spec;
}

function convertInput(raw: RawInput, old: InputSpec | undefined): InputSpec {
  const [head, opts = {}] = raw;
  if (Array.isArray(head) || head === 'COMBO') {
    const spec = baseSpec('COMBO', opts);
    // A run-time list (model files, uploads): keep the folder it lists; its options in the
    // capture are the files of that machine, the sandbox lists its own.
    if (old?.type === 'COMBO' && !old.options) {
      for (const k of ['folder', 'folders', 'source'] as const) {
        if (old[k] !== undefined) (spec as Record<string, unknown>)[k] = old[k];
      }
    } else {
      spec.options = Array.isArray(head) ? head : (opts.options as unknown[] | undefined);
    }
    return spec;
  }
  const type = String(head);
  const spec = baseSpec(type, opts);
  if (type === 'COMFY_DYNAMICCOMBO_V3') {
    const options = (opts.options as { key: string; inputs?: RawGroup }[] | undefined) ?? [];
    spec.options = options.map((o) => o.key);
    spec.dynamic = {};
    for (const o of options)
      spec.dynamic[o.key] = convertGroup(o.inputs ?? {}, old?.dynamic?.[o.key]);
  } else if (type === 'COMFY_AUTOGROW_V3') {
    const t = (opts.template ?? {}) as {
      input?: RawGroup;
      names?: string[];
      prefix?: string;
      min?: number;
      max?: number;
    };
    const required = Object.entries(t.input?.required ?? {});
    const [slot, template] = required[0] ?? Object.entries(t.input?.optional ?? {})[0] ?? [];
    if (template) spec.template = convertInput(template, old?.template);
    spec.template_optional = required.length === 0;
    spec.names = t.names ?? Array.from({ length: t.max ?? 0 }, (_, i) => `${t.prefix ?? ''}${i}`);
    if (t.prefix !== undefined) spec.prefix = t.prefix;
    if (slot !== undefined) spec.template_key = slot;
    spec.min = t.min ?? 0;
    if (t.max !== undefined) spec.max = t.max;
  } else if (type === 'COMFY_MATCHTYPE_V3') {
    const t = (opts.template ?? {}) as { template_id?: string; allowed_types?: string };
    spec.template_id = t.template_id;
    spec.allowed_types = (t.allowed_types ?? '*').split(',').filter(Boolean);
  }
  return spec;
}

function convertGroup(raw: RawGroup, old: InputGroup | undefined): InputGroup {
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

/** V3 classes write combos as `["COMBO", {options}]`, V1 classes as `[[...options], {}]`. */
function apiOf(info: RawNodeInfo): 'v1' | 'v3' {
  let v1 = false;
  for (const section of ['required', 'optional'] as const) {
    for (const name in info.input[section]) {
      const head = info.input[section]?.[name]?.[0];
      if (typeof head === 'string' && head.startsWith('COMFY_')) return 'v3';
      if (head === 'COMBO') return 'v3';
      if (Array.isArray(head)) v1 = true;
    }
  }
  return v1 || info.python_module === 'nodes' ? 'v1' : 'v3';
}

/** One `/object_info` class as a node specification, completed from its static extraction. */
export function convertNodeInfo(
  name: string,
  info: RawNodeInfo,
  old: NodeClassSpec | undefined,
): NodeClassSpec {
  const hidden = Object.keys(info.input.hidden ?? {});
  const spec: NodeClassSpec = {
    source: old?.source ?? `${(info.python_module ?? 'nodes').replaceAll('.', '/')}.py`,
    api: old?.api ?? apiOf(info),
    class: name,
    display_name: info.display_name ?? name,
    category: info.category ?? '',
    output_node: info.output_node === true,
    inputs: convertGroup(info.input, old?.inputs),
    outputs: info.output,
    output_names: info.output_name ?? info.output,
    output_is_list: info.output_is_list ?? info.output.map(() => false),
    is_input_list: info.is_input_list === true,
  };
  if (hidden.length) spec.hidden = hidden;
  if (old?.function) spec.function = old.function;
  if (old?.validate_inputs) spec.validate_inputs = old.validate_inputs;
  if (old?.accept_all_inputs) spec.accept_all_inputs = true;
  if (info.deprecated) spec.deprecated = true;
  if (info.experimental) spec.experimental = true;
  return spec;
}

/**
 * Node specifications from an `/object_info` answer; classes only the static extraction has
 * are kept as they were. Returns them and the names of those fallback classes.
 */
export function specsFromObjectInfo(
  objectInfo: Record<string, RawNodeInfo>,
  staticSpecs: Record<string, NodeClassSpec>,
): { nodes: Record<string, NodeClassSpec>; fallback: string[] } {
  const nodes: Record<string, NodeClassSpec> = {};
  for (const name in objectInfo) {
    nodes[name] = convertNodeInfo(name, objectInfo[name] as RawNodeInfo, staticSpecs[name]);
  }
  const fallback: string[] = [];
  for (const name in staticSpecs) {
    if (nodes[name]) continue;
    nodes[name] = staticSpecs[name] as NodeClassSpec;
    fallback.push(name);
  }
  return { nodes, fallback: fallback.sort() };
}
