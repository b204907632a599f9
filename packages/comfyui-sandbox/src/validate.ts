// Prompt validation as ComfyUI's `execution.py` does it (`validate_prompt`, `validate_inputs`):
// the same error types, messages, details and `node_errors` layout, the same coercion of
// literals (which rewrites the stored prompt), and the same recursion from output nodes, so a
// client sees the 400 bodies a real server would send.
import type { ApiPrompt } from './queue.ts';
import {
  comboOptions,
  type FileLists,
  formatInput,
  type InputSpec,
  type NodeClassSpec,
  resolveInputs,
} from './specs.ts';

/** One entry of `error` or of `node_errors[id].errors`. */
export interface PromptError {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}

export interface NodeErrors {
  errors: PromptError[];
  dependent_outputs: string[];
  class_type: string;
}

export type ValidationResult =
  | { ok: true; outputs: string[]; nodeErrors: Record<string, NodeErrors> }
  | { ok: false; error: PromptError; nodeErrors: Record<string, NodeErrors> };

export interface ValidationContext {
  /** The spec of a node class this sandbox offers, or undefined when it is not installed. */
  spec(classType: string): NodeClassSpec | undefined;
  files: FileLists;
  /** Whether an annotated input path (`name.png`, `sub/name.png [output]`) exists. */
  annotatedFileExists(name: string): boolean;
}

/** A Python exception, for the `exception_*` error types. */
class PyError extends Error {
  constructor(
    readonly pyType: string,
    message: string,
  ) {
    super(message);
  }
}

const FAKE_TRACEBACK = [
  '  File "/ComfyUI/execution.py", line 1214, in validate_prompt\n    m = await validate_inputs(prompt_id, prompt, o, validated)\n',
  '  File "/ComfyUI/execution.py", line 871, in validate_inputs\n    o_class_type = prompt[o_id][\'class_type\']\n',
];

function pyRepr(v: unknown): string {
  if (typeof v === 'string') return `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
      .join(', ')}}`;
  }
  return String(v);
}

function pyStr(v: unknown): string {
  return typeof v === 'string' ? v : pyRepr(v);
}

function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'dict';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  return 'str';
}

function num(v: number, float: boolean): string {
  return float && Number.isInteger(v) ? `${v}.0` : String(v);
}

/** Python's int(v). */
function toInt(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) {
      throw new PyError(
        Number.isNaN(v) ? 'ValueError' : 'OverflowError',
        Number.isNaN(v)
          ? 'cannot convert float NaN to integer'
          : 'cannot convert float infinity to integer',
      );
    }
    return Math.trunc(v);
  }
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^[+-]?\d+(_\d+)*$/.test(t)) return Number(t.replaceAll('_', ''));
    throw new PyError('ValueError', `invalid literal for int() with base 10: ${pyRepr(v)}`);
  }
  throw new PyError(
    'TypeError',
    `int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(v)}'`,
  );
}

/** Python's float(v). */
function toFloat(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = v.trim().replaceAll('_', '');
    if (/^[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)$/.test(t)) return Number(t);
    if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
    if (/^[+-]?nan$/i.test(t)) return Number.NaN;
    throw new PyError('ValueError', `could not convert string to float: ${pyRepr(v)}`);
  }
  throw new PyError(
    'TypeError',
    `float() argument must be a string or a real number, not '${pyTypeName(v)}'`,
  );
}

/** Python truthiness, for bool(v). */
function toBool(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

function pyEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const an = typeof a === 'boolean' ? Number(a) : a;
  const bn = typeof b === 'boolean' ? Number(b) : b;
  return typeof an === 'number' && typeof bn === 'number' && an === bn;
}

function typesCompatible(received: string, expected: string, spec: InputSpec): boolean {
  if (received === '*' || expected === '*') return true;
  if (expected === 'COMFY_MATCHTYPE_V3') {
    const allowed = spec.allowed_types ?? ['*'];
    return allowed.includes('*') || received === 'COMFY_MATCHTYPE_V3' || allowed.includes(received);
  }
  if (received === 'COMFY_MATCHTYPE_V3') return true;
  const r = new Set(received.split(','));
  // A combo output (e.g. a primitive's COMBO) feeds a combo input.
  if (expected === 'COMBO' || expected === 'COMFY_DYNAMICCOMBO_V3') return r.has('COMBO');
  return expected.split(',').some((t) => r.has(t));
}

function missingNode(id: string, classType: unknown, title: unknown): PromptError {
  if (classType === undefined) {
    const label = typeof title === 'string' && title ? title : `ID #${id}`;
    return {
      type: 'missing_node_type',
      message: `Node '${label}' has no class_type. The workflow may be corrupted or a custom node is missing.`,
      details: `Node ID '#${id}'`,
      extra_info: { node_id: id, class_type: null, node_title: title ?? null },
    };
  }
  const label = typeof title === 'string' && title ? title : String(classType);
  return {
    type: 'missing_node_type',
    message: `Node '${label}' not found. The custom node may not be installed.`,
    details: `Node ID '#${id}'`,
    extra_info: { node_id: id, class_type: classType, node_title: label },
  };
}

type Validated = Map<string, [boolean, PromptError[], string]>;

class Validator {
  private readonly validated: Validated = new Map();
  private readonly inProgress: string[] = [];

  constructor(
    private readonly prompt: ApiPrompt,
    private readonly ctx: ValidationContext,
  ) {}

  get results(): Validated {
    return this.validated;
  }

  /** ComfyUI's `validate_inputs`; may throw a PyError like the Python code raises. */
  validateInputs(id: string): [boolean, PromptError[], string] {
    const done = this.validated.get(id);
    if (done) return done;
    if (this.inProgress.includes(id)) {
      const cycle = this.inProgress.slice(this.inProgress.indexOf(id));
      const result: [boolean, PromptError[], string] = [
        false,
        [
          {
            type: 'dependency_cycle',
            message: 'Dependency cycle detected',
            details: `Dependency cycle detected involving nodes: ${cycle.join(', ')}`,
            extra_info: { cycle_nodes: cycle },
          },
        ],
        id,
      ];
      this.validated.set(id, result);
      return result;
    }
    this.inProgress.push(id);
    try {
      return this.validateNode(id);
    } finally {
      this.inProgress.pop();
    }
  }

  private validateNode(id: string): [boolean, PromptError[], string] {
    const node = this.prompt[id]!;
    const classType = node.class_type;
    const cls = this.ctx.spec(classType)!;
    const inputs = node.inputs ?? {};
    node.inputs = inputs;
    const errors: PromptError[] = [];
    let valid = true;
    const selfValidated = new Set(cls.validate_inputs ?? []);

    for (const input of resolveInputs(cls, inputs)) {
      const x = input.name;
      const spec = input.spec;
      const type = spec.type;
      if (!(x in inputs)) {
        if (input.required) {
          errors.push({
            type: 'required_input_missing',
            message: 'Required input is missing',
            // V3 nodes name a missing dynamic sub-input by its last segment.
            details: x.split('.').at(-1) ?? x,
            extra_info: { input_name: x },
          });
        }
        continue;
      }
      let val = inputs[x];
      const info = formatInput(classType, x, spec, cls.api, !input.required, this.ctx.files);
      if (Array.isArray(val)) {
        if (val.length !== 2) {
          errors.push({
            type: 'bad_linked_input',
            message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]',
            details: x,
            extra_info: { input_name: x, input_config: info, received_value: val },
          });
          continue;
        }
        const [oid, slot] = val as [unknown, unknown];
        const source = typeof oid === 'string' ? this.prompt[oid] : undefined;
        if (!source) throw new PyError('KeyError', pyRepr(oid));
        const sourceSpec = this.ctx.spec(source.class_type);
        if (!sourceSpec) throw new PyError('KeyError', pyRepr(source.class_type));
        if (typeof slot !== 'number' || !Number.isInteger(slot)) {
          throw new PyError(
            'TypeError',
            `tuple indices must be integers or slices, not ${pyTypeName(slot)}`,
          );
        }
        const received = sourceSpec.outputs.at(slot);
        if (received === undefined || slot >= sourceSpec.outputs.length) {
          throw new PyError('IndexError', 'tuple index out of range');
        }
        if (!typesCompatible(received, type, spec)) {
          errors.push({
            type: 'return_type_mismatch',
            message: 'Return type mismatch between linked nodes',
            details: `${x}, received_type(${received}) mismatch input_type(${type})`,
            extra_info: {
              input_name: x,
              input_config: info,
              received_type: received,
              linked_node: val,
            },
          });
          continue;
        }
        try {
          const r = this.validateInputs(oid as string);
          if (!r[0]) valid = false;
        } catch (ex) {
          valid = false;
          const e = ex instanceof PyError ? ex : new PyError('Exception', String(ex));
          this.validated.set(oid as string, [
            false,
            [
              {
                type: 'exception_during_inner_validation',
                message: 'Exception when validating inner node',
                details: e.message,
                extra_info: {
                  input_name: x,
                  input_config: info,
                  exception_message: e.message,
                  exception_type: e.pyType,
                  traceback: FAKE_TRACEBACK,
                  linked_node: val,
                },
              },
            ],
            oid as string,
          ]);
        }
        continue;
      }

      try {
        if (val && typeof val === 'object' && '__value__' in val) {
          val = (val as { __value__: unknown }).__value__;
          inputs[x] = val;
        }
        if (type === 'INT') val = toInt(val);
        else if (type === 'FLOAT') val = toFloat(val);
        else if (type === 'STRING') val = pyStr(val);
        else if (type === 'BOOLEAN') val = toBool(val);
        inputs[x] = val;
      } catch (ex) {
        const e = ex as PyError;
        errors.push({
          type: 'invalid_input_type',
          message: `Failed to convert an input value to a ${type} value`,
          details: `${x}, ${pyStr(val)}, ${e.message}`,
          extra_info: {
            input_name: x,
            input_config: info,
            received_value: val,
            exception_message: e.message,
          },
        });
        continue;
      }

      if (selfValidated.has(x)) continue;
      const isFloat = type === 'FLOAT';
      if (typeof val === 'number' && spec.min !== undefined && val < spec.min) {
        errors.push({
          type: 'value_smaller_than_min',
          message: `Value ${num(val, isFloat)} smaller than min of ${num(spec.min, isFloat)}`,
          details: x,
          extra_info: { input_name: x, input_config: info, received_value: val },
        });
        continue;
      }
      if (typeof val === 'number' && spec.max !== undefined && val > spec.max) {
        errors.push({
          type: 'value_bigger_than_max',
          message: `Value ${num(val, isFloat)} bigger than max of ${num(spec.max, isFloat)}`,
          details: x,
          extra_info: { input_name: x, input_config: info, received_value: val },
        });
        continue;
      }
      // A dynamic combo is only an input when its value is one of its keys (resolveInputs),
      // so only plain combos are checked against their options here.
      if (type === 'COMBO') {
        const options = comboOptions(classType, x, spec, this.ctx.files) ?? [];
        if (!options.some((o) => pyEquals(o, val))) {
          const big = options.length > 20;
          errors.push({
            type: 'value_not_in_list',
            message: 'Value not in list',
            details: `${x}: ${pyRepr(val)} not in ${big ? `(list of length ${options.length})` : pyRepr(options)}`,
            extra_info: { input_name: x, input_config: big ? null : info, received_value: val },
          });
        }
      }
    }

    // VALIDATE_INPUTS of the loaders that read files from input/.
    for (const x of selfValidated) {
      const value = inputs[x];
      if (typeof value !== 'string' || Array.isArray(value)) continue;
      if (!this.ctx.annotatedFileExists(value)) {
        const what = x === 'audio' ? 'audio' : x === 'file' ? 'video' : 'image';
        errors.push({
          type: 'custom_validation_failed',
          message: 'Custom validation failed for node',
          details: `${classType} - Invalid ${what} file: ${value}`,
          extra_info: { input_name: x },
        });
      }
    }

    const result: [boolean, PromptError[], string] =
      errors.length > 0 || !valid ? [false, errors, id] : [true, [], id];
    this.validated.set(id, result);
    return result;
  }
}

/**
 * Validates a submitted prompt. Coerces literals in place (the caller passes a copy it will
 * queue). `partialTargets` limits the output nodes like `partial_execution_targets`.
 */
export function validatePrompt(
  prompt: ApiPrompt,
  partialTargets: string[] | undefined,
  ctx: ValidationContext,
): ValidationResult {
  const outputs: string[] = [];
  for (const [id, node] of Object.entries(prompt)) {
    const n = node as unknown;
    const title = (n as { _meta?: { title?: unknown } } | null)?._meta?.title;
    if (!n || typeof n !== 'object' || !('class_type' in n)) {
      return { ok: false, error: missingNode(id, undefined, title), nodeErrors: {} };
    }
    const spec = ctx.spec(node.class_type);
    if (!spec) return { ok: false, error: missingNode(id, node.class_type, title), nodeErrors: {} };
    if (spec.output_node && (partialTargets === undefined || partialTargets.includes(id))) {
      outputs.push(id);
    }
  }
  if (outputs.length === 0) {
    return {
      ok: false,
      error: {
        type: 'prompt_no_outputs',
        message: 'Prompt has no outputs',
        details: '',
        extra_info: {},
      },
      nodeErrors: {},
    };
  }

  const validator = new Validator(prompt, ctx);
  const good: string[] = [];
  const failures: Array<[string, PromptError[]]> = [];
  const nodeErrors: Record<string, NodeErrors> = {};
  for (const o of outputs) {
    let valid = false;
    let reasons: PromptError[] = [];
    try {
      const m = validator.validateInputs(o);
      valid = m[0];
      reasons = m[1];
    } catch (ex) {
      const e = ex instanceof PyError ? ex : new PyError('Exception', String(ex));
      reasons = [
        {
          type: 'exception_during_validation',
          message: 'Exception when validating node',
          details: e.message,
          extra_info: { exception_type: e.pyType, traceback: FAKE_TRACEBACK },
        },
      ];
      validator.results.set(o, [false, reasons, o]);
    }
    if (valid) {
      good.push(o);
      continue;
    }
    failures.push([o, reasons]);
    for (const [nodeId, [ok, nodeReasons]] of validator.results) {
      // Nodes invalid only because of an upstream error carry no reasons and are omitted.
      if (ok || nodeReasons.length === 0) continue;
      nodeErrors[nodeId] ??= {
        errors: nodeReasons,
        dependent_outputs: [],
        class_type: prompt[nodeId]!.class_type,
      };
      nodeErrors[nodeId].dependent_outputs.push(o);
    }
  }

  if (good.length === 0) {
    const lines = failures.flatMap(([, errs]) => errs.map((e) => `${e.message}: ${e.details}`));
    return {
      ok: false,
      error: {
        type: 'prompt_outputs_failed_validation',
        message: 'Prompt outputs failed validation',
        details: lines.join('\n'),
        extra_info: {},
      },
      nodeErrors,
    };
  }
  return { ok: true, outputs: good, nodeErrors };
}
