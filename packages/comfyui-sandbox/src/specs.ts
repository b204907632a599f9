// Node class specifications (data/comfyui-nodes.json, a copy of the shared nodes.json that
// was extracted statically from ComfyUI's Python source) and their rendering in ComfyUI's own
// `/object_info` format. V3 dynamic inputs are flattened the way ComfyUI's API format sends
// them: a DynamicCombo `codec` adds `codec.<sub>` inputs, an Autogrow `images` adds
// `images.<name>` inputs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One input of a node class, as in nodes.json. */
export interface InputSpec {
  type: string;
  default?: unknown;
  min?: number;
  max?: number;
  step?: number;
  options?: unknown[];
  /** Run-time combo listing the files of this model folder (`input` for uploads). */
  folder?: string;
  folders?: string[];
  source?: string;
  dynamic?: Record<string, InputGroup>;
  template?: InputSpec;
  template_optional?: boolean;
  names?: string[];
  prefix?: string;
  allowed_types?: string[];
  template_id?: string;
  [key: string]: unknown;
}

export interface InputGroup {
  required?: Record<string, InputSpec>;
  optional?: Record<string, InputSpec>;
}

/** One node class, as in nodes.json. */
export interface NodeClassSpec {
  source: string;
  api: 'v1' | 'v3';
  class: string;
  display_name?: string;
  category: string;
  output_node: boolean;
  function?: string;
  inputs: InputGroup;
  hidden?: string[];
  outputs: string[];
  output_names: string[];
  output_is_list?: boolean[];
  is_input_list?: boolean;
  validate_inputs?: string[];
  deprecated?: boolean;
  experimental?: boolean;
  accept_all_inputs?: boolean;
}

interface NodesFile {
  comfyui_commit: string;
  nodes: Record<string, NodeClassSpec>;
}

/** The node specification file bundled with the package (never read from ../shared). */
export const NODE_SPECS_FILE = fileURLToPath(
  new URL('../data/comfyui-nodes.json', import.meta.url),
);

let cached: NodesFile | undefined;

/** All node class specifications, keyed by class_type. Read once, on first use. */
export function allNodeSpecs(): Record<string, NodeClassSpec> {
  cached ??= JSON.parse(readFileSync(NODE_SPECS_FILE, 'utf8')) as NodesFile;
  return cached.nodes;
}

/** The ComfyUI commit the specifications were extracted from. */
export function specsCommit(): string {
  allNodeSpecs();
  return cached!.comfyui_commit;
}

/** An input of a node as submitted: its name (dotted for V3 dynamic inputs) and spec. */
export interface ResolvedInput {
  name: string;
  spec: InputSpec;
  required: boolean;
}

/**
 * The inputs a node accepts given the values it was sent: dynamic-combo sub-inputs of the
 * selected option and the autogrow slots in use (plus the `min` slots that must be connected).
 */
export function resolveInputs(
  cls: NodeClassSpec,
  values: Record<string, unknown>,
): ResolvedInput[] {
  const out: ResolvedInput[] = [];
  const walk = (group: InputGroup, prefix: string) => {
    for (const section of ['required', 'optional'] as const) {
      for (const [short, spec] of Object.entries(group[section] ?? {})) {
        const name = prefix + short;
        const required = section === 'required';
        if (spec.type === 'COMFY_AUTOGROW_V3') {
          const names = spec.names ?? [];
          const min = spec.min ?? 0;
          names.forEach((slot, i) => {
            const slotName = `${name}.${slot}`;
            const slotRequired = required && i < min && !spec.template_optional;
            if (slotRequired || slotName in values) {
              out.push({
                name: slotName,
                spec: spec.template ?? { type: '*' },
                required: slotRequired,
              });
            }
          });
          continue;
        }
        out.push({ name, spec, required });
        if (spec.type === 'COMFY_DYNAMICCOMBO_V3' && spec.dynamic) {
          const selected = values[name] ?? spec.default ?? spec.options?.[0];
          const sub = typeof selected === 'string' ? spec.dynamic[selected] : undefined;
          if (sub) walk(sub, `${name}.`);
        }
      }
    }
  };
  walk(cls.inputs, '');
  return out;
}

/** Model/input file lists the object_info combos and validation read at run time. */
export interface FileLists {
  /** Files of a model folder (`checkpoints`, `loras`, ...), sorted. */
  models(folder: string): string[];
  /** Files under input/ with one of the given content kinds. */
  inputs(kinds: Array<'image' | 'audio' | 'video'>): string[];
  /** Files under output/ (for LoadImageOutput), annotated with ` [output]`. */
  outputs(): string[];
}

/** The option list of a combo input: static options, or the files the sandbox has. */
export function comboOptions(
  classType: string,
  inputName: string,
  spec: InputSpec,
  files: FileLists,
): unknown[] | undefined {
  if (spec.options && spec.type !== 'COMFY_DYNAMICCOMBO_V3') return spec.options;
  if (spec.type !== 'COMBO') return spec.options;
  if (spec.folder === 'input' || spec.folder === undefined) {
    if (classType === 'LoadImageOutput') return files.outputs();
    if (spec.folder === undefined) return undefined;
    if (spec.audio_upload) return files.inputs(['audio', 'video']);
    if (spec.video_upload) return files.inputs(['video']);
    if (spec.image_upload) return files.inputs(['image']);
    if (inputName === 'file') return files.inputs(['video']);
    if (inputName === 'audio') return files.inputs(['audio', 'video']);
    return files.inputs(['image']);
  }
  const list = [...files.models(spec.folder)];
  if (classType === 'VAELoader') list.push('pixel_space');
  return list;
}

const HIDDEN_KINDS: Record<string, string> = {
  prompt: 'PROMPT',
  extra_pnginfo: 'EXTRA_PNGINFO',
  unique_id: 'UNIQUE_ID',
  dynprompt: 'DYNPROMPT',
  auth_token_comfy_org: 'AUTH_TOKEN_COMFY_ORG',
  api_key_comfy_org: 'API_KEY_COMFY_ORG',
};

const NOT_OPTIONS = new Set([
  'type',
  'source',
  'folder',
  'folders',
  'options',
  'dynamic',
  'template',
  'template_optional',
  'names',
  'prefix',
  'allowed_types',
  'template_id',
]);

function extras(spec: InputSpec, optional: boolean, api: 'v1' | 'v3'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) {
    if (!NOT_OPTIONS.has(k) && !k.endsWith('_source')) out[k] = v;
  }
  if (api === 'v3' && optional) out.optional = true;
  return out;
}

/** One input rendered the way `/object_info` writes it: `[type_or_options, options?]`. */
export function formatInput(
  classType: string,
  name: string,
  spec: InputSpec,
  api: 'v1' | 'v3',
  optional: boolean,
  files: FileLists,
): unknown[] {
  const opts = extras(spec, optional, api);
  if (spec.type === 'COMBO') {
    const options = comboOptions(classType, name, spec, files) ?? [];
    if (api === 'v1') return [options, opts];
    return ['COMBO', { ...opts, options }];
  }
  if (spec.type === 'COMFY_DYNAMICCOMBO_V3') {
    const options = (spec.options ?? []).map((key) => {
      const group = spec.dynamic?.[String(key)] ?? {};
      return { key, inputs: formatGroup(classType, group, api, files) };
    });
    return [spec.type, { ...opts, options }];
  }
  if (spec.type === 'COMFY_AUTOGROW_V3') {
    const template = spec.template ?? { type: '*' };
    const prefix = spec.prefix ?? name;
    const input = {
      required: { [prefix]: formatInput(classType, prefix, template, api, false, files) },
    };
    const template_ = { input, names: spec.names, min: spec.min, max: spec.max, prefix };
    return [spec.type, { ...opts, template: template_ }];
  }
  if (spec.type === 'COMFY_MATCHTYPE_V3') {
    return [
      spec.type,
      { ...opts, template: { template_id: spec.template_id, allowed_types: spec.allowed_types } },
    ];
  }
  if (api === 'v1' && Object.keys(opts).length === 0) return [spec.type];
  return [spec.type, opts];
}

function formatGroup(
  classType: string,
  group: InputGroup,
  api: 'v1' | 'v3',
  files: FileLists,
): Record<string, Record<string, unknown[]>> {
  const out: Record<string, Record<string, unknown[]>> = { required: {} };
  for (const [name, spec] of Object.entries(group.required ?? {})) {
    out.required![name] = formatInput(classType, name, spec, api, false, files);
  }
  const optional = Object.entries(group.optional ?? {});
  if (optional.length > 0) {
    out.optional = {};
    for (const [name, spec] of optional) {
      out.optional[name] = formatInput(classType, name, spec, api, true, files);
    }
  }
  return out;
}

function pythonModule(source: string): string {
  return source.replace(/\.py$/, '').replaceAll('/', '.');
}

/** A node class in ComfyUI's `/object_info` format (`server.py` `node_info`). */
export function nodeInfo(
  classType: string,
  spec: NodeClassSpec,
  files: FileLists,
): Record<string, unknown> {
  const input: Record<string, unknown> = formatGroup(classType, spec.inputs, spec.api, files);
  const inputOrder: Record<string, string[]> = {
    required: Object.keys(spec.inputs.required ?? {}),
  };
  if (input.optional) inputOrder.optional = Object.keys(spec.inputs.optional ?? {});
  if (spec.hidden && spec.hidden.length > 0) {
    input.hidden = Object.fromEntries(
      spec.hidden.map((h) => [h, HIDDEN_KINDS[h] ?? h.toUpperCase()]),
    );
    inputOrder.hidden = [...spec.hidden];
  }
  const info: Record<string, unknown> = {
    input,
    input_order: inputOrder,
    is_input_list: spec.is_input_list ?? false,
    output: spec.outputs,
    output_is_list: spec.output_is_list ?? spec.outputs.map(() => false),
    output_name: spec.output_names,
    name: classType,
    display_name: spec.display_name ?? classType,
    description: '',
    python_module: pythonModule(spec.source),
    category: spec.category,
    output_node: spec.output_node,
    has_intermediate_output: false,
  };
  if (spec.deprecated) info.deprecated = true;
  if (spec.experimental) info.experimental = true;
  return info;
}
