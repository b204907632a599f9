// ComfyUI node class specifications and the rules ComfyUI applies when it validates a prompt:
// which inputs a node takes (V3 dynamic combos and autogrow inputs flattened with dots), how a
// literal converts, and which output types a linked input accepts. The specifications come
// from ComfyUI's own `/object_info` answer (catalog/comfyui-object-info.json), completed and
// backed by the older static extraction (catalog/comfyui-nodes.json, see object-info.ts).
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isObjectInfo, type RawNodeInfo, specsFromObjectInfo } from './object-info.ts';

/**
 * The committed node specifications (static extraction, nodes.json format); the server never
 * reads ../shared. Loading it also loads the `/object_info` capture next to it.
 */
export const BUNDLED_NODE_SPECS_FILE = fileURLToPath(
  new URL('../../catalog/comfyui-nodes.json', import.meta.url),
);

/** File name of an `/object_info` capture that takes precedence over a nodes.json beside it. */
export const OBJECT_INFO_FILE_NAME = 'comfyui-object-info.json';

/** The committed `/object_info` capture (ComfyUI master 783545f689a0, API nodes left out). */
export const BUNDLED_OBJECT_INFO_FILE = fileURLToPath(
  new URL(`../../catalog/${OBJECT_INFO_FILE_NAME}`, import.meta.url),
);

/** One input of a node class, as in nodes.json. Only the fields the validator reads are typed. */
export interface InputSpec {
  type: string;
  default?: unknown;
  /** Numeric minimum; for COMFY_AUTOGROW_V3 the number of slots that must be connected. */
  min?: number;
  max?: number;
  step?: number;
  /** Static combo options. Absent for run-time combos (model files, input files). */
  options?: unknown[];
  /** Run-time combo listing files of this ComfyUI model folder (`input` for uploads). */
  folder?: string;
  image_upload?: boolean;
  /** COMFY_DYNAMICCOMBO_V3: the inputs each option adds, sent as `<name>.<sub>`. */
  dynamic?: Record<string, InputGroup>;
  /** COMFY_AUTOGROW_V3: the spec of every slot, sent as `<name>.<names[i]>`. */
  template?: InputSpec;
  template_optional?: boolean;
  names?: string[];
  /** A widget without a socket (COLOR, BOUNDING_BOX, CURVE, ...): it only takes literals. */
  socketless?: boolean;
  /** A widget type shown as a socket; ComfyUI still accepts a literal for it. */
  forceInput?: boolean;
  /** The widget a multi-type input shows (e.g. FLOAT for "FLOAT,INT"). */
  widgetType?: string;
  /** COMFY_MATCHTYPE_V3: the types the input accepts; outputs of the same template follow it. */
  allowed_types?: string[];
  template_id?: string;
}

export interface InputGroup {
  required?: Record<string, InputSpec>;
  optional?: Record<string, InputSpec>;
}

/** One node class, as in nodes.json. */
export interface NodeClassSpec {
  /** ComfyUI source file that registers the class, e.g. "comfy_extras/nodes_lt.py". */
  source: string;
  class: string;
  display_name?: string;
  category?: string;
  output_node: boolean;
  inputs: InputGroup;
  /** Hidden inputs (filled by the server, never required). */
  hidden?: string[];
  outputs: string[];
  output_names: string[];
  /** Inputs the node validates itself: ComfyUI skips its min/max/combo checks for them. */
  validate_inputs?: string[];
  accept_all_inputs?: boolean;
  deprecated?: boolean;
  experimental?: boolean;
}

/** Parsed node specifications with a lookup by class_type. */
export interface NodeSpecs {
  /** The file they were read from. */
  file: string;
  /** The `/object_info` capture they come from, when there is one. */
  objectInfoFile?: string;
  /** ComfyUI commit of the specifications (of the `/object_info` capture when there is one). */
  comfyuiCommit: string;
  classes: ReadonlyMap<string, NodeClassSpec>;
  /** Classes missing from `/object_info`, taken from the static extraction as they were. */
  fallbackClasses: string[];
}

/** An input a node of some class accepts, after flattening V3 dynamic inputs. */
export interface ResolvedInput {
  spec: InputSpec;
  required: boolean;
}

const DYNAMIC_COMBO = 'COMFY_DYNAMICCOMBO_V3';
const AUTOGROW = 'COMFY_AUTOGROW_V3';
const MATCH_TYPE = 'COMFY_MATCHTYPE_V3';

const cache = new Map<string, Promise<NodeSpecs>>();

/**
 * Reads and indexes node specifications (see `readNodeSpecs` for the formats). Parsed once per
 * path and process (~1.4 MB of JSON, ~20 ms), so every catalog load after the first costs
 * nothing here.
 */
export function loadNodeSpecs(file: string = BUNDLED_NODE_SPECS_FILE): Promise<NodeSpecs> {
  const key = path.resolve(file);
  let pending = cache.get(key);
  if (!pending) {
    pending = readNodeSpecs(key);
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: invalid JSON (${(error as Error).message})`);
  }
}

function fileExists(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

interface StaticSpecs {
  comfyuiCommit: string;
  classes: Map<string, NodeClassSpec>;
}

function asStatic(raw: unknown, file: string): StaticSpecs | null {
  const r = raw as { comfyui_commit?: unknown; nodes?: unknown } | null;
  if (!r || typeof r.nodes !== 'object' || r.nodes === null) return null;
  if (isObjectInfo(r.nodes)) throw new Error(`${file}: "nodes" holds /object_info entries`);
  return {
    comfyuiCommit: typeof r.comfyui_commit === 'string' ? r.comfyui_commit : 'unknown',
    classes: new Map(Object.entries(r.nodes as Record<string, NodeClassSpec>)),
  };
}

/** An `/object_info` answer, bare or wrapped as `{comfyui_commit, object_info}`. */
function asObjectInfo(
  raw: unknown,
): { comfyuiCommit: string; info: Record<string, RawNodeInfo> } | null {
  const r = raw as { comfyui_commit?: unknown; object_info?: unknown } | null;
  if (r && isObjectInfo(r.object_info)) {
    const commit = typeof r.comfyui_commit === 'string' ? r.comfyui_commit : 'unknown';
    return { comfyuiCommit: commit, info: r.object_info };
  }
  return isObjectInfo(raw) ? { comfyuiCommit: 'unknown', info: raw } : null;
}

/**
 * Reads node specifications from either format: a nodes.json (static extraction; an
 * `/object_info` capture named comfyui-object-info.json beside it takes precedence), or an
 * `/object_info` answer (completed from the bundled nodes.json).
 */
async function readNodeSpecs(file: string): Promise<NodeSpecs> {
  const raw = await readJson(file);
  const staticSpecs = asStatic(raw, file);
  let objectInfoFile: string | undefined;
  let objectInfo = staticSpecs ? null : asObjectInfo(raw);
  if (staticSpecs) {
    const beside = path.join(path.dirname(file), OBJECT_INFO_FILE_NAME);
    if (await fileExists(beside)) {
      objectInfo = asObjectInfo(await readJson(beside));
      if (!objectInfo) throw new Error(`${beside}: not a ComfyUI /object_info answer`);
      objectInfoFile = beside;
    }
  } else if (objectInfo) {
    objectInfoFile = file;
  } else {
    throw new Error(
      `${file}: neither a nodes.json ("nodes" object) nor a ComfyUI /object_info answer`,
    );
  }
  if (!objectInfo) {
    const s = staticSpecs as StaticSpecs;
    return { file, comfyuiCommit: s.comfyuiCommit, classes: s.classes, fallbackClasses: [] };
  }
  const base =
    staticSpecs ?? asStatic(await readJson(BUNDLED_NODE_SPECS_FILE), BUNDLED_NODE_SPECS_FILE);
  const { classes, fallback } = specsFromObjectInfo(objectInfo.info, base?.classes ?? new Map());
  return {
    file,
    objectInfoFile,
    comfyuiCommit: objectInfo.comfyuiCommit,
    classes,
    fallbackClasses: fallback,
  };
}

/** True for an API-format link `["<node id>", <output index>]`. */
export function isLink(value: unknown): value is [string, number] {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === 'string' &&
    Number.isInteger(value[1])
  );
}

/**
 * Every input a node accepts given the values it was sent, keyed by the name used in the
 * prompt. A dynamic combo adds the sub-inputs of the option it selects (all of them, optional,
 * when the combo is linked); an autogrow input adds one slot per name, the first `min` required.
 */
export function resolveInputs(
  cls: NodeClassSpec,
  values: Record<string, unknown>,
): Map<string, ResolvedInput> {
  const out = new Map<string, ResolvedInput>();
  const add = (name: string, spec: InputSpec, required: boolean) => {
    if (spec.type === AUTOGROW) {
      const names = spec.names ?? [];
      const min = spec.template_optional ? 0 : (spec.min ?? 0);
      names.forEach((slot, i) => {
        if (spec.template) add(`${name}.${slot}`, spec.template, required && i < min);
      });
      return;
    }
    out.set(name, { spec, required });
    if (spec.type === DYNAMIC_COMBO && spec.dynamic) {
      const value = values[name];
      const selected =
        typeof value === 'string' && spec.dynamic[value]
          ? [value]
          : isLink(value)
            ? Object.keys(spec.dynamic)
            : [];
      // The selected option's required sub-inputs are required once the combo is sent, even
      // when the combo itself is optional; a linked combo's options are all possible.
      const certain = selected.length === 1;
      for (const option of selected) {
        const group = spec.dynamic[option] ?? {};
        for (const [sub, s] of Object.entries(group.required ?? {})) {
          add(`${name}.${sub}`, s, certain);
        }
        for (const [sub, s] of Object.entries(group.optional ?? {}))
          add(`${name}.${sub}`, s, false);
      }
    }
  };
  for (const [name, spec] of Object.entries(cls.inputs.required ?? {})) add(name, spec, true);
  for (const [name, spec] of Object.entries(cls.inputs.optional ?? {})) add(name, spec, false);
  return out;
}

/** The types an input accepts from a link: a combo accepts combo outputs, match types their list. */
export function acceptedTypes(spec: InputSpec): string[] {
  if (spec.type === MATCH_TYPE) return spec.allowed_types?.length ? spec.allowed_types : ['*'];
  if (spec.type === DYNAMIC_COMBO) return ['COMBO'];
  return splitTypes(spec.type);
}

function splitTypes(type: string): string[] {
  return type
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/**
 * ComfyUI's `validate_node_input` (non-strict): equal types match, `*` matches anything, and
 * comma-separated multi-types match when they share at least one member.
 */
export function typesCompatible(received: string, accepted: string[]): boolean {
  const got = splitTypes(received);
  if (got.includes('*') || accepted.includes('*')) return true;
  return got.some((t) => accepted.includes(t));
}

/** True when an output type follows the type of a COMFY_MATCHTYPE_V3 input of its node. */
export function isMatchType(type: string): boolean {
  return type === MATCH_TYPE;
}

/** True for a combo whose value names an uploaded file under ComfyUI's `input` folder. */
export function isInputFileCombo(spec: InputSpec): boolean {
  return spec.type === 'COMBO' && spec.folder === 'input';
}

/** True for a combo listing model files of a ComfyUI folder (checkpoints, loras, vae, ...). */
export function isModelFileCombo(spec: InputSpec): boolean {
  return spec.type === 'COMBO' && typeof spec.folder === 'string' && spec.folder !== 'input';
}

/**
 * True for an input that shows a widget, so a literal is its normal value: a socketless
 * widget (COLOR, BOUNDING_BOX, CURVE, COMPOSITOR, ...), a multi-type input with a `widgetType`,
 * or a widget input with a default that is not forced to be a socket (`forceInput`).
 */
export function isWidgetInput(spec: InputSpec): boolean {
  if (spec.socketless === true || spec.widgetType !== undefined) return true;
  return spec.default !== undefined && spec.forceInput !== true;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value;
}

/**
 * Checks a literal the way ComfyUI converts it, but strictly (a catalog should hold values
 * of the right JSON type): INT is a whole number, FLOAT a number, BOOLEAN a boolean, STRING a
 * string, combos one of their static options. Returns a problem, or null when it is fine.
 * `selfValidated`: the node validates this input itself, so ranges and options are not checked.
 *
 * Other types: ComfyUI's `validate_inputs` (execution.py) treats every non-list value as a
 * literal, unwraps `{"__value__": x}`, converts only INT/FLOAT/STRING/BOOLEAN, checks min/max
 * and combo options, and accepts any other literal as it is. A literal for a socket type
 * (IMAGE, MODEL, ...) therefore passes its validation and fails when the node runs; the catalog
 * rejects it. A literal for a widget input (`isWidgetInput`: socketless, `widgetType`, or a
 * default without `forceInput`) is what the UI itself sends, e.g. TextOverlay
 * `"color": "#ffffff"`; the catalog accepts it when it has the JSON kind of the default.
 */
export function checkLiteral(
  spec: InputSpec,
  rawValue: unknown,
  selfValidated = false,
): string | null {
  const value =
    rawValue && typeof rawValue === 'object' && '__value__' in rawValue
      ? (rawValue as { __value__: unknown }).__value__
      : rawValue;
  const types = spec.type === MATCH_TYPE ? acceptedTypes(spec) : splitTypes(spec.type);
  if (types.includes('*')) return null;
  const problems: string[] = [];
  for (const type of types) {
    const problem = checkLiteralAs(type, spec, value, selfValidated);
    if (problem === null) return null;
    problems.push(problem);
  }
  return problems[0] ?? `cannot take a literal value (type ${spec.type})`;
}

function checkLiteralAs(
  type: string,
  spec: InputSpec,
  value: unknown,
  selfValidated: boolean,
): string | null {
  switch (type) {
    case 'INT':
    case 'FLOAT': {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        return `expects ${type}, got ${describe(value)}`;
      }
      if (type === 'INT' && !Number.isInteger(value)) return `expects INT, got ${value}`;
      if (selfValidated) return null;
      if (spec.min !== undefined && value < spec.min) {
        return `value ${value} is smaller than min ${spec.min}`;
      }
      if (spec.max !== undefined && value > spec.max) {
        return `value ${value} is bigger than max ${spec.max}`;
      }
      return null;
    }
    case 'BOOLEAN':
      return typeof value === 'boolean' ? null : `expects BOOLEAN, got ${describe(value)}`;
    case 'STRING':
      return typeof value === 'string' ? null : `expects STRING, got ${describe(value)}`;
    case 'COMBO':
    case DYNAMIC_COMBO: {
      if (spec.options && !selfValidated) {
        return spec.options.includes(value)
          ? null
          : `value ${JSON.stringify(value)} is not one of the options (${spec.options
              .slice(0, 12)
              .map((o) => JSON.stringify(o))
              .join(', ')}${spec.options.length > 12 ? ', ...' : ''})`;
      }
      // Run-time lists (model files, uploads): any file name.
      return typeof value === 'string' ? null : `expects a file name, got ${describe(value)}`;
    }
    default: {
      if (!isWidgetInput(spec)) return `expects a link to a ${type} output, got a literal`;
      if (spec.default === undefined || kindOf(value) === kindOf(spec.default)) return null;
      return `expects a ${type} value like the default ${JSON.stringify(spec.default)}, got ${describe(value)}`;
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `${typeof value} ${JSON.stringify(value)}`;
}
