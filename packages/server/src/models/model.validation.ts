// Cross-checks of a model definition against ComfyUI's node specifications: every workflow
// is a valid prompt, every binding names a literal input of the right type, parameters fit
// the node inputs they drive, reference slots prune to valid prompts, and the declared
// sources, modes, output kind and reference count agree with the workflows.
import type { GenerationMode, MediaKind } from '../generated/prisma/enums.ts';
import {
  acceptedTypes,
  type InputSpec,
  isInputFileCombo,
  isLink,
  type NodeSpecs,
  resolveInputs,
} from './comfyui-nodes.ts';
import {
  GENERATION_MODES,
  type InputRef,
  isMultiple,
  type ModelDefinition,
  type ModelParameter,
  type ModeWorkflow,
} from './model.definition.ts';
import {
  type ApiGraph,
  ancestorsOf,
  type GraphIssue,
  type ModelFile,
  pruneReferenceSlots,
  validateGraph,
} from './workflow.ts';

/** What one mode's workflow needs on a worker. */
export interface ModeRequirements {
  nodes: string[];
  modelFiles: ModelFile[];
}

export interface ModelReport {
  /** Problems, each with a field path into the model file. */
  issues: GraphIssue[];
  requirements: Partial<Record<GenerationMode, ModeRequirements>>;
  /** Fewest reference images MULTI_REFERENCE accepts (0 without that mode). */
  minReferences: number;
}

/** Modes each output kind can serve. */
const MODES_BY_KIND: Record<MediaKind, GenerationMode[]> = {
  IMAGE: ['TEXT_TO_IMAGE', 'IMAGE_TO_IMAGE', 'EDIT', 'INPAINT', 'MULTI_REFERENCE'],
  VIDEO: ['TEXT_TO_VIDEO', 'IMAGE_TO_VIDEO'],
  AUDIO: ['TEXT_TO_AUDIO', 'IMAGE_TO_AUDIO'],
};

/** Save nodes whose files land in ComfyUI's history, by the kind of file they write. */
const SAVE_CLASSES: Record<MediaKind, string[]> = {
  IMAGE: ['SaveImage', 'SaveImageAdvanced'],
  VIDEO: ['SaveVideo', 'SaveWEBM', 'SaveAnimatedWEBP', 'SaveAnimatedPNG'],
  AUDIO: ['SaveAudio', 'SaveAudioMP3', 'SaveAudioOpus', 'SaveAudioAdvanced'],
};

/** Which input images each mode takes. */
const IMAGES_BY_MODE: Record<
  GenerationMode,
  { source: boolean; mask: boolean; references: boolean }
> = {
  TEXT_TO_IMAGE: { source: false, mask: false, references: false },
  IMAGE_TO_IMAGE: { source: true, mask: false, references: false },
  EDIT: { source: true, mask: false, references: false },
  INPAINT: { source: true, mask: true, references: false },
  MULTI_REFERENCE: { source: false, mask: false, references: true },
  TEXT_TO_VIDEO: { source: false, mask: false, references: false },
  IMAGE_TO_VIDEO: { source: true, mask: false, references: false },
  TEXT_TO_AUDIO: { source: false, mask: false, references: false },
  // The source image is described by the DESCRIBE stage; the workflow is text-to-audio.
  IMAGE_TO_AUDIO: { source: false, mask: false, references: false },
};

/** MULTI_REFERENCE must run with two references; more slots may be optional. */
const MIN_MULTI_REFERENCES = 2;

export function validateModel(def: ModelDefinition, specs: NodeSpecs): ModelReport {
  const issues: GraphIssue[] = [];
  const requirements: ModelReport['requirements'] = {};
  const push = (path: string, message: string) => issues.push({ path, message });
  const modes = GENERATION_MODES.filter((m) => def.workflows[m]);
  let minReferences = 0;
  let slotCount = 0;

  const names = new Set<string>();
  def.parameters.forEach((p, i) => {
    if (names.has(p.name)) push(`parameters.${i}.name`, `duplicate parameter "${p.name}"`);
    names.add(p.name);
    p.modes.forEach((m, j) => {
      if (!def.workflows[m]) {
        push(`parameters.${i}.modes.${j}`, `${m} is not a mode of this model (no workflow)`);
      }
    });
  });

  for (const [option, values] of Object.entries(def.options ?? {})) {
    for (const [value, parameters] of Object.entries(values ?? {})) {
      for (const name of Object.keys(parameters)) {
        if (!names.has(name)) {
          push(`options.${option}.${value}.${name}`, `"${name}" is not a parameter of this model`);
        }
      }
    }
  }
  if (def.maxVideoArea !== undefined && def.outputKind !== 'VIDEO') {
    push('maxVideoArea', 'only video models have a maximum video area');
  }

  const usedSources = new Map<string, string>();
  for (const mode of modes) {
    const wf = def.workflows[mode] as ModeWorkflow;
    const at = `workflows.${mode}`;
    if (!MODES_BY_KIND[def.outputKind].includes(mode)) {
      push(at, `${mode} does not produce ${def.outputKind}`);
    }
    const report = validateGraph(wf.graph, specs);
    for (const issue of report.issues) push(joinPath(`${at}.graph`, issue.path), issue.message);
    requirements[mode] = { nodes: report.requiredNodes, modelFiles: report.requiredModelFiles };
    for (const node of Object.values(wf.graph)) {
      const cls = specs.classes.get(node.class_type);
      if (cls && !usedSources.has(cls.source)) usedSources.set(cls.source, node.class_type);
    }
    checkBindings(def, mode, wf, specs, push);
    const slots = wf.bindings.images.references ?? [];
    if (mode === 'MULTI_REFERENCE') {
      // Pruned variants are only checked once the full workflow is valid (no repeated noise).
      const counts = checkReferenceSlots(
        wf,
        specs,
        `${at}.bindings.images.references`,
        push,
        report.issues.length === 0,
      );
      minReferences = counts.min;
      slotCount = counts.max;
    } else if (slots.length) {
      push(`${at}.bindings.images.references`, `only MULTI_REFERENCE takes reference images`);
    }
  }

  for (const [source, cls] of usedSources) {
    if (!def.sources.includes(source)) {
      push('sources', `missing "${source}" (node class ${cls} comes from it)`);
    }
  }
  def.sources.forEach((source, i) => {
    if (!usedSources.has(source))
      push(`sources.${i}`, `no node class of the workflows comes from "${source}"`);
  });
  if (def.maxReferences !== slotCount) {
    push(
      'maxReferences',
      `is ${def.maxReferences} but the MULTI_REFERENCE workflow has ${slotCount} reference slot(s)`,
    );
  }
  return { issues, requirements, minReferences };
}

function joinPath(prefix: string, path: string): string {
  return path ? `${prefix}.${path}` : prefix;
}

type Push = (path: string, message: string) => void;

interface Target {
  spec: InputSpec;
  value: unknown;
  classType: string;
}

/** Resolves a binding to a literal input of the workflow, or reports why it cannot. */
function target(
  graph: ApiGraph,
  specs: NodeSpecs,
  ref: InputRef,
  at: string,
  push: Push,
): Target | null {
  const node = graph[ref.node];
  if (!node) {
    push(at, `binding to missing node "${ref.node}"`);
    return null;
  }
  const cls = specs.classes.get(node.class_type);
  if (!cls) return null; // reported by the graph check
  const input = resolveInputs(cls, node.inputs).get(ref.input);
  if (!input) {
    push(
      at,
      `binding to missing input: ${node.class_type} (node "${ref.node}") has no input "${ref.input}"`,
    );
    return null;
  }
  if (!(ref.input in node.inputs)) {
    push(
      at,
      `binding to missing input: node "${ref.node}" does not set "${ref.input}"; put the default value there`,
    );
    return null;
  }
  const value = node.inputs[ref.input];
  if (isLink(value)) {
    push(
      at,
      `binding to input "${ref.input}" of node "${ref.node}", which is a link; bindings replace literals`,
    );
    return null;
  }
  return { spec: input.spec, value, classType: node.class_type };
}

function accepts(spec: InputSpec, type: string): boolean {
  return acceptedTypes(spec).includes(type);
}

function checkBindings(
  def: ModelDefinition,
  mode: GenerationMode,
  wf: ModeWorkflow,
  specs: NodeSpecs,
  push: Push,
) {
  const { graph, bindings } = wf;
  const at = `workflows.${mode}.bindings`;
  const seen = new Map<string, string>();
  const claim = (ref: InputRef, path: string) => {
    const key = `${ref.node}\u0000${ref.input}`;
    const first = seen.get(key);
    if (first) push(path, `node "${ref.node}" input "${ref.input}" is already bound by ${first}`);
    else seen.set(key, path);
  };
  const text = (refs: InputRef[] | undefined, name: string, expected?: string) =>
    refs?.forEach((ref, i) => {
      const path = `${at}.${name}.${i}`;
      claim(ref, path);
      const t = target(graph, specs, ref, path, push);
      if (!t) return;
      if (!accepts(t.spec, 'STRING'))
        push(path, `${name} must go to a STRING input, not ${t.spec.type}`);
      else if (expected !== undefined && t.value !== expected) {
        push(
          path,
          `holds ${JSON.stringify(t.value)}; the stored workflow must hold the default ${JSON.stringify(expected)}`,
        );
      }
    });

  text(bindings.prompt, 'prompt');
  if (def.defaultNegativePrompt === null) {
    if (bindings.negativePrompt) {
      push(
        `${at}.negativePrompt`,
        'defaultNegativePrompt is null (no negative prompt) but a binding is given',
      );
    }
  } else if (!bindings.negativePrompt) {
    push(
      `${at}.negativePrompt`,
      'the model has a defaultNegativePrompt, so every workflow binds negativePrompt',
    );
  } else {
    text(bindings.negativePrompt, 'negativePrompt', def.defaultNegativePrompt);
  }

  bindings.seed.forEach((ref, i) => {
    const path = `${at}.seed.${i}`;
    claim(ref, path);
    const t = target(graph, specs, ref, path, push);
    if (t && !accepts(t.spec, 'INT'))
      push(path, `seed must go to an INT input, not ${t.spec.type}`);
  });

  if (bindings.batchSize) {
    const path = `${at}.batchSize`;
    claim(bindings.batchSize, path);
    const t = target(graph, specs, bindings.batchSize, path, push);
    if (t && !accepts(t.spec, 'INT'))
      push(path, `batchSize must go to an INT input, not ${t.spec.type}`);
    else if (t && t.value !== 1)
      push(path, `the stored workflow must hold batch size 1, not ${String(t.value)}`);
  }

  const rules = {
    source: IMAGES_BY_MODE[mode].source,
    mask: IMAGES_BY_MODE[mode].mask,
  };
  for (const role of ['source', 'mask'] as const) {
    const ref = bindings.images[role];
    const path = `${at}.images.${role}`;
    if (rules[role] && !ref) push(path, `${mode} needs a ${role} image binding`);
    if (!rules[role] && ref) push(path, `${mode} takes no ${role} image`);
    if (ref) {
      claim(ref, path);
      checkImageTarget(graph, specs, ref, path, push);
    }
  }
  if (IMAGES_BY_MODE[mode].references && !bindings.images.references) {
    push(`${at}.images.references`, `${mode} needs reference image bindings`);
  }
  bindings.images.references?.forEach((ref, i) => {
    const path = `${at}.images.references.${i}`;
    claim(ref, path);
    checkImageTarget(graph, specs, ref, path, push);
  });

  // Parameters: every parameter of this mode is bound, and only those.
  const params = new Map(def.parameters.map((p) => [p.name, p]));
  for (const p of def.parameters) {
    if (p.modes.includes(mode) && !bindings.parameters[p.name]) {
      push(`${at}.parameters`, `parameter "${p.name}" applies to ${mode} but has no binding`);
    }
  }
  for (const [name, refs] of Object.entries(bindings.parameters)) {
    const p = params.get(name);
    if (!p) {
      push(`${at}.parameters.${name}`, `no parameter "${name}" is declared in "parameters"`);
      continue;
    }
    if (!p.modes.includes(mode)) {
      push(`${at}.parameters.${name}`, `parameter "${name}" does not list ${mode} in its modes`);
    }
    refs.forEach((ref, i) => {
      const path = `${at}.parameters.${name}.${i}`;
      claim(ref, path);
      const t = target(graph, specs, ref, path, push);
      if (t) checkParameterTarget(p, t, path, push);
    });
  }

  // Output: a save node of the model's kind that every node feeds.
  const out = graph[bindings.output];
  const outPath = `${at}.output`;
  if (!out) {
    push(outPath, `binding to missing node "${bindings.output}"`);
    return;
  }
  if (!SAVE_CLASSES[def.outputKind].includes(out.class_type)) {
    push(
      outPath,
      `node "${bindings.output}" is ${out.class_type}; ${def.outputKind} output goes through ${SAVE_CLASSES[def.outputKind].join(' or ')}`,
    );
  }
  checkReachability(graph, bindings.output, `workflows.${mode}.graph`, push);
}

function checkImageTarget(
  graph: ApiGraph,
  specs: NodeSpecs,
  ref: InputRef,
  path: string,
  push: Push,
) {
  const t = target(graph, specs, ref, path, push);
  if (t && !(isInputFileCombo(t.spec) && t.spec.image_upload)) {
    push(
      path,
      `images go to an uploaded-image input (LoadImage/LoadImageMask "image"), not ${t.classType}.${ref.input}`,
    );
  }
}

function checkReachability(graph: ApiGraph, output: string, at: string, push: Push, context = '') {
  const used = ancestorsOf(graph, output);
  for (const id of Object.keys(graph)) {
    if (!used.has(id)) {
      push(
        `${at}.${id}`,
        `${context}node "${id}" (${graph[id]?.class_type}) does not feed the output node "${output}"`,
      );
    }
  }
}

function checkParameterTarget(p: ModelParameter, t: Target, path: string, push: Push) {
  const { spec, value } = t;
  const want: Record<ModelParameter['type'], string[]> = {
    INT: ['INT', 'FLOAT'],
    FLOAT: ['FLOAT'],
    BOOLEAN: ['BOOLEAN'],
    STRING: ['STRING'],
    ENUM: ['COMBO'],
  };
  const types = acceptedTypes(spec);
  if (!types.includes('*') && !want[p.type].some((w) => types.includes(w))) {
    push(
      path,
      `${p.type} parameter "${p.name}" cannot drive ${t.classType} input of type ${spec.type}`,
    );
    return;
  }
  const same =
    typeof value === 'number' && typeof p.default === 'number'
      ? Math.abs(value - p.default) < 1e-9
      : value === p.default;
  if (!same) {
    push(
      path,
      `holds ${JSON.stringify(value)}; the stored workflow must hold the parameter default ${JSON.stringify(p.default)}`,
    );
  }
  if (p.type === 'INT' || p.type === 'FLOAT') {
    const min = p.min as number;
    const max = p.max as number;
    if (spec.min !== undefined && min < spec.min)
      push(path, `parameter min ${min} is below the input's min ${spec.min}`);
    if (spec.max !== undefined && max > spec.max)
      push(path, `parameter max ${max} is above the input's max ${spec.max}`);
    const nodeStep =
      spec.step ?? (types.includes('INT') && !types.includes('FLOAT') ? 1 : undefined);
    if (nodeStep !== undefined) {
      if (!isMultiple(p.step as number, nodeStep)) {
        push(path, `parameter step ${p.step} is not a multiple of the input's step ${nodeStep}`);
      } else if (!isMultiple(min - (spec.min ?? 0), nodeStep)) {
        push(
          path,
          `parameter min ${min} is off the input's grid (min ${spec.min ?? 0}, step ${nodeStep})`,
        );
      }
    }
  }
  if (p.type === 'ENUM' && spec.options) {
    const bad = (p.options ?? []).filter((o) => !spec.options?.includes(o));
    if (bad.length)
      push(
        path,
        `options ${bad.map((o) => JSON.stringify(o)).join(', ')} are not options of ${t.classType}`,
      );
  }
}

/** Checks the reference slots of a MULTI_REFERENCE workflow; returns the allowed counts. */
function checkReferenceSlots(
  wf: ModeWorkflow,
  specs: NodeSpecs,
  at: string,
  push: Push,
  checkPruned: boolean,
) {
  const slots = wf.bindings.images.references ?? [];
  let mandatory = 0;
  while (mandatory < slots.length && !slots[mandatory]?.prune) mandatory++;
  const min = Math.max(mandatory, MIN_MULTI_REFERENCES);
  if (slots.length < MIN_MULTI_REFERENCES) {
    push(
      at,
      `MULTI_REFERENCE needs at least ${MIN_MULTI_REFERENCES} reference slots, has ${slots.length}`,
    );
    return { min, max: slots.length };
  }
  if (mandatory > MIN_MULTI_REFERENCES) {
    push(
      `${at}.${MIN_MULTI_REFERENCES}`,
      `slots from ${MIN_MULTI_REFERENCES} on must be optional (have "prune"), so ${MIN_MULTI_REFERENCES} references are enough`,
    );
  }
  let ok = true;
  slots.forEach((slot, i) => {
    if (i >= mandatory && !slot.prune) {
      push(`${at}.${i}`, 'a mandatory slot (no "prune") cannot follow an optional one');
      ok = false;
    }
    if (!slot.prune) return;
    if (!slot.prune.nodes.includes(slot.node)) {
      push(`${at}.${i}.prune.nodes`, `must include the slot's own node "${slot.node}"`);
      ok = false;
    }
    slot.prune.nodes.forEach((id, j) => {
      if (!wf.graph[id]) {
        push(`${at}.${i}.prune.nodes.${j}`, `no node "${id}" in the workflow`);
        ok = false;
      }
    });
  });
  if (!ok || !checkPruned) return { min, max: slots.length };

  // Every allowed count must give a valid prompt with the other bindings intact.
  for (let count = Math.max(mandatory, MIN_MULTI_REFERENCES); count < slots.length; count++) {
    const context = `with ${count} references: `;
    let pruned: ApiGraph;
    try {
      pruned = pruneReferenceSlots(wf.graph, slots, count);
    } catch (error) {
      push(at, context + (error as Error).message);
      continue;
    }
    const report = validateGraph(pruned, specs);
    for (const issue of report.issues) {
      push(joinPath(`${at}.${count}.prune`, issue.path), `${context}${issue.message}`);
    }
    const { bindings } = wf;
    const kept: [string, InputRef][] = [
      ...bindings.prompt.map((r) => ['prompt', r] as [string, InputRef]),
      ...(bindings.negativePrompt ?? []).map((r) => ['negativePrompt', r] as [string, InputRef]),
      ...bindings.seed.map((r) => ['seed', r] as [string, InputRef]),
      ...Object.entries(bindings.parameters).flatMap(([n, refs]) =>
        refs.map((r) => [`parameters.${n}`, r] as [string, InputRef]),
      ),
      ...slots.slice(0, count).map((r, i) => [`images.references.${i}`, r] as [string, InputRef]),
      ...(bindings.batchSize ? [['batchSize', bindings.batchSize] as [string, InputRef]] : []),
    ];
    for (const [name, ref] of kept) {
      if (!pruned[ref.node])
        push(
          `${at}.${count}.prune`,
          `${context}removes node "${ref.node}" that ${name} is bound to`,
        );
    }
    if (!pruned[bindings.output]) {
      push(`${at}.${count}.prune`, `${context}removes the output node "${bindings.output}"`);
      continue;
    }
    checkReachability(pruned, bindings.output, `${at}.${count}.prune`, push, context);
  }
  return { min, max: slots.length };
}
