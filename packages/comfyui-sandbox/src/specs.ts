// Node class specifications and their rendering in ComfyUI's own `/object_info` format. They
// come from a real ComfyUI's `/object_info` answer (data/comfyui-object-info.json), completed
// and backed by the static extraction from ComfyUI's source (data/comfyui-nodes.json, a copy
// of the shared nodes.json); see object-info.ts. V3 dynamic inputs are flattened the way
// ComfyUI's API format sends them: a DynamicCombo `format` adds `format.<sub>` inputs (nested:
// `format.codec.encoding`), an Autogrow `images` adds `images.<name>` inputs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type RawNodeInfo, specsFromObjectInfo } from './object-info.ts';

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
  /** COMFY_AUTOGROW_V3: the name of the template input in `/object_info`. */
  template_key?: string;
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

interface ObjectInfoFile {
  comfyui_commit: string;
  object_info: Record<string, RawNodeInfo>;
}

/** The static node specification file bundled with the package (never read from ../shared). */
export const NODE_SPECS_FILE = fileURLToPath(
  new URL('../data/comfyui-nodes.json', import.meta.url),
);

/** The `/object_info` capture bundled with the package (ComfyUI master 783545f689a0). */
export const OBJECT_INFO_FILE = fileURLToPath(
  new URL('../data/comfyui-object-info.json', import.meta.url),
);

let cached:
  | { commit: string; nodes: Record<string, NodeClassSpec>; fallback: string[] }
  | undefined;

function load() {
  if (cached) return cached;
  const old = JSON.parse(readFileSync(NODE_SPECS_FILE, 'utf8')) as NodesFile;
  const info = JSON.parse(readFileSync(OBJECT_INFO_FILE, 'utf8')) as ObjectInfoFile;
  const { nodes, fallback } = specsFromObjectInfo(info.object_info, old.nodes);
  cached = { commit: info.comfyui_commit, nodes, fallback };
  return cached;
}

/** All node class specifications, keyed by class_type. Read once, on first use. */
export function allNodeSpecs(): Record<string, NodeClassSpec> {
  return load().nodes;
}

/** The ComfyUI commit of the `/object_info` capture the specifications come from. */
export function specsCommit(): string {
  return load().commit;
}

/** Classes missing from the `/object_info` capture, kept from the static extraction. */
export function fallbackClasses(): string[] {
  return load().fallback;
}

/** An input of a node as submitted: its name (dotted for V3 dynamic inputs) and spec. */
export interface ResolvedInput {
  name: string;
  spec: InputSpec;
  required: boolean;
}

/**
 * The inputs a node accepts given the values it was sent, as ComfyUI's
 * `get_finalized_class_inputs` expands them: a dynamic combo counts (with the sub-inputs of its
 * option) only when it is sent with the key of one of its options, so an absent combo is not
 * reported missing and an unknown key is not checked at all; autogrow slots in use plus the
 * `min` slots that must be connected.
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
        if (spec.type === 'COMFY_DYNAMICCOMBO_V3') {
          const selected = values[name];
          const sub =
            typeof selected === 'string' && spec.options?.includes(selected)
              ? spec.dynamic?.[selected]
              : undefined;
          if (!sub) continue;
          walk(sub, `${name}.`);
        }
        out.push({ name, spec, required });
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
  'template_key',
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
    // `/object_info` writes a prefix template as {input, prefix, min, max} and a names
    // template as {input, names, min}.
    const template = spec.template ?? { type: '*' };
    const key = spec.template_key ?? spec.prefix ?? name;
    const slot = formatInput(classType, key, template, api, false, files);
    const input = spec.template_optional
      ? { optional: { [key]: slot } }
      : { required: { [key]: slot } };
    const template_ =
      spec.prefix !== undefined
        ? { input, prefix: spec.prefix, min: spec.min, max: spec.max }
        : { input, names: spec.names, min: spec.min };
    return [spec.type, { ...opts, template: template_ }];
  }
  if (spec.type === 'COMFY_MATCHTYPE_V3') {
    const allowed_types = (spec.allowed_types ?? ['*']).join(',');
    return [spec.type, { ...opts, template: { template_id: spec.template_id, allowed_types } }];
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
