// API-format ComfyUI workflows ("prompts"): validation against node specifications, the
// model files and node classes they need, and the pruning of unused reference-image slots.
import {
  acceptedTypes,
  checkLiteral,
  isLink,
  isMatchType,
  isModelFileCombo,
  type NodeSpecs,
  type ResolvedInput,
  resolveInputs,
  typesCompatible,
} from './comfyui-nodes.ts';

/** A link to output `index` of node `id`, as ComfyUI's API format writes it. */
export type Link = [id: string, index: number];

/** One node of an API-format workflow. */
export interface ApiNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: { title?: string };
}

/** An API-format workflow: node id → node. Exactly what `POST /prompt` takes as `prompt`. */
export type ApiGraph = Record<string, ApiNode>;

/** A model file a workflow loads: ComfyUI folder (`checkpoints`, `loras`, ...) and file name. */
export interface ModelFile {
  folder: string;
  name: string;
}

/** A problem found in a workflow; `path` is relative to the graph, e.g. `6.inputs.clip`. */
export interface GraphIssue {
  path: string;
  message: string;
}

export interface GraphReport {
  issues: GraphIssue[];
  /** Node classes the workflow uses, sorted. */
  requiredNodes: string[];
  /** Model files its loaders name (run-time combos with a `folder` other than `input`), sorted. */
  requiredModelFiles: ModelFile[];
}

/**
 * Validates a workflow the way ComfyUI's `validate_prompt` does, statically: every class
 * exists, required inputs are present, no unknown inputs, links point at existing nodes and
 * outputs of a compatible type, literals convert and sit in range or in the combo options,
 * no dependency cycle, at least one output node.
 */
export function validateGraph(graph: ApiGraph, specs: NodeSpecs): GraphReport {
  const issues: GraphIssue[] = [];
  const nodes = new Set<string>();
  const files = new Map<string, ModelFile>();
  let outputNodes = 0;
  let unknownClasses = 0;

  for (const [id, node] of Object.entries(graph)) {
    const cls = specs.classes.get(node.class_type);
    if (!cls) {
      issues.push({ path: `${id}.class_type`, message: `unknown node class "${node.class_type}"` });
      unknownClasses++;
      continue;
    }
    nodes.add(node.class_type);
    if (cls.output_node) outputNodes++;
    const accepted = resolveInputs(cls, node.inputs);
    const hidden = new Set(cls.hidden ?? []);
    const selfValidated = new Set(cls.validate_inputs ?? []);

    for (const [name, input] of accepted) {
      if (input.required && !(name in node.inputs)) {
        issues.push({
          path: `${id}.inputs.${name}`,
          message: `required input "${name}" of ${node.class_type} is missing`,
        });
      }
    }
    for (const [name, value] of Object.entries(node.inputs)) {
      const at = `${id}.inputs.${name}`;
      const input = accepted.get(name);
      if (!input) {
        if (hidden.has(name) || cls.accept_all_inputs) continue;
        issues.push({ path: at, message: `${node.class_type} has no input "${name}"` });
        continue;
      }
      if (Array.isArray(value)) {
        const problem = checkLink(graph, specs, value, input);
        // The path names the node and input; the class follows, as for literals.
        if (problem) issues.push({ path: at, message: `${problem} (${node.class_type}.${name})` });
        continue;
      }
      const problem = checkLiteral(input.spec, value, selfValidated.has(name));
      if (problem) {
        issues.push({ path: at, message: `${node.class_type}.${name}: ${problem}` });
        continue;
      }
      if (isModelFileCombo(input.spec) && typeof value === 'string') {
        const file = { folder: input.spec.folder as string, name: value };
        files.set(`${file.folder}/${file.name}`, file);
      }
    }
  }

  if (outputNodes === 0 && unknownClasses === 0) {
    issues.push({ path: '', message: 'the workflow has no output node (e.g. SaveImage)' });
  }
  const cycle = findCycle(graph);
  if (cycle)
    issues.push({ path: `${cycle[0]}`, message: `dependency cycle: ${cycle.join(' → ')}` });

  return {
    issues,
    requiredNodes: [...nodes].sort(),
    requiredModelFiles: [...files.values()].sort(
      (a, b) => a.folder.localeCompare(b.folder) || a.name.localeCompare(b.name),
    ),
  };
}

function checkLink(
  graph: ApiGraph,
  specs: NodeSpecs,
  value: unknown[],
  input: ResolvedInput,
): string | null {
  if (!isLink(value)) {
    return 'a 2-element list is a link ["<node id>", <output index>]; wrap literal lists as {"__value__": [...]}';
  }
  const [sourceId, index] = value;
  const source = graph[sourceId];
  if (!source) return `link to missing node "${sourceId}"`;
  const cls = specs.classes.get(source.class_type);
  if (!cls) return null; // reported on the source node itself
  if (index < 0 || index >= cls.outputs.length) {
    return `link to output ${index} of node "${sourceId}" (${source.class_type}), which has ${cls.outputs.length} output(s)`;
  }
  const received = outputType(graph, specs, sourceId, index, new Set());
  const accepted = acceptedTypes(input.spec);
  if (!typesCompatible(received, accepted)) {
    return `type mismatch: node "${sourceId}" output ${index} is ${received}, input takes ${accepted.join(',')}`;
  }
  return null;
}

/** The type of a node output; a COMFY_MATCHTYPE_V3 output takes the type linked into its node. */
function outputType(
  graph: ApiGraph,
  specs: NodeSpecs,
  id: string,
  index: number,
  seen: Set<string>,
): string {
  const node = graph[id];
  const cls = node && specs.classes.get(node.class_type);
  const type = cls?.outputs[index];
  if (!node || !cls || type === undefined) return '*';
  if (!isMatchType(type) || seen.has(id)) return type;
  seen.add(id);
  for (const [name, { spec }] of resolveInputs(cls, node.inputs)) {
    const value = node.inputs[name];
    if (isMatchType(spec.type) && isLink(value)) {
      return outputType(graph, specs, value[0], value[1], seen);
    }
  }
  return '*';
}

function findCycle(graph: ApiGraph): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    const s = state.get(id);
    if (s === 'done') return null;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const value of Object.values(graph[id]?.inputs ?? {})) {
      if (isLink(value) && graph[value[0]]) {
        const cycle = visit(value[0]);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };
  for (const id of Object.keys(graph)) {
    const cycle = visit(id);
    if (cycle) return cycle;
  }
  return null;
}

/** Ids of the nodes `output` depends on, itself included. */
export function ancestorsOf(graph: ApiGraph, output: string): Set<string> {
  const seen = new Set<string>();
  const queue = [output];
  while (queue.length) {
    const id = queue.pop() as string;
    if (seen.has(id) || !graph[id]) continue;
    seen.add(id);
    for (const value of Object.values(graph[id].inputs)) {
      if (isLink(value)) queue.push(value[0]);
    }
  }
  return seen;
}

/**
 * How to remove an optional reference-image slot from a workflow when a run brings fewer
 * references than the workflow has slots.
 */
export interface ReferencePrune {
  /** Nodes that exist only for this slot (its LoadImage and e.g. scale/encode nodes): removed. */
  nodes: string[];
  /**
   * Links into removed nodes that must be redirected rather than dropped, for chains such as
   * ReferenceLatent → ReferenceLatent: every link equal to `from` becomes `to`.
   */
  rewire?: { from: Link; to: Link }[];
}

/**
 * Returns a copy of `graph` with reference slots `count` and above removed: slots are pruned
 * from the last one down, each one's `rewire` applied and its `nodes` deleted, and finally
 * every input still linking to a deleted node is dropped (such inputs must be optional, e.g.
 * `image3` of TextEncodeQwenImageEditPlus; the catalog loader checks every count).
 * Throws when a slot at or above `count` has no `prune` (it is mandatory).
 */
export function pruneReferenceSlots(
  graph: ApiGraph,
  slots: readonly { prune?: ReferencePrune }[],
  count: number,
): ApiGraph {
  const out: ApiGraph = structuredClone(graph);
  const removed = new Set<string>();
  for (let i = slots.length - 1; i >= count; i--) {
    const prune = slots[i]?.prune;
    if (!prune) throw new Error(`reference slot ${i} is mandatory; cannot run with ${count}`);
    for (const { from, to } of prune.rewire ?? []) {
      for (const node of Object.values(out)) {
        for (const [name, value] of Object.entries(node.inputs)) {
          if (isLink(value) && value[0] === from[0] && value[1] === from[1]) {
            node.inputs[name] = [to[0], to[1]];
          }
        }
      }
    }
    for (const id of prune.nodes) {
      delete out[id];
      removed.add(id);
    }
  }
  for (const node of Object.values(out)) {
    for (const [name, value] of Object.entries(node.inputs)) {
      if (isLink(value) && removed.has(value[0])) delete node.inputs[name];
    }
  }
  return out;
}
