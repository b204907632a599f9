// The model and style catalog: JSON files under the catalog directory (models/*.json,
// styles/*.json), validated at load against their schemas and every workflow against
// ComfyUI's node specifications, so a broken catalog stops startup with the file and field
// named. `syncCatalog` mirrors it into the Model and Style tables.

import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { GenerationMode, MediaKind } from '../generated/prisma/enums.ts';
import {
  type CatalogStyle,
  type StyleDefinition,
  styleDefinitionSchema,
} from '../styles/styles.service.ts';
import { BUNDLED_NODE_SPECS_FILE, loadNodeSpecs, type NodeSpecs } from './comfyui-nodes.ts';
import { type ModeCost, modeCost } from './costs.ts';
import {
  GENERATION_MODES,
  type ModelDefinition,
  type ModelParameter,
  type ModeWorkflow,
  modelDefinitionSchema,
} from './model.definition.ts';
import { type ModeRequirements, validateModel } from './model.validation.ts';
import type { ModelOptions } from './run-options.ts';
import type { ModelFile } from './workflow.ts';

export type { CatalogStyle } from '../styles/styles.service.ts';
export type { ModelFile } from './workflow.ts';

/** Name of the node specification file inside a catalog directory. */
export const NODE_SPECS_FILE_NAME = 'comfyui-nodes.json';

/** A model as the catalog serves it: the file's content plus what is derived from it. */
export interface CatalogModel {
  key: string;
  name: string;
  description: string;
  outputKind: MediaKind;
  /** Modes with a workflow, in GenerationMode order. */
  modes: GenerationMode[];
  parameters: ModelParameter[];
  /** Most reference images MULTI_REFERENCE takes (0 without that mode). */
  maxReferences: number;
  /** Fewest reference images MULTI_REFERENCE takes (0 without that mode). */
  minReferences: number;
  /** Null when the model has no negative prompt (e.g. guidance-distilled models at cfg 1). */
  defaultNegativePrompt: string | null;
  /** Longest prompt (characters) the OPTIMIZE stage should hand to this model. */
  promptLimit: number;
  /** Optional OPTIMIZE-stage wrapper with a `{prompt}` slot. */
  promptTemplate: string | null;
  /** ComfyUI source files the workflows' node classes come from. */
  sources: string[];
  /** Uniform options (size, quality, inputFidelity) as this model's parameter values. */
  options: ModelOptions;
  /** Video models: the largest width × height a run may ask for. */
  maxVideoArea: number | null;
  /** Per mode: the API-format workflow and its bindings (see WorkflowBindings). */
  workflows: Partial<Record<GenerationMode, ModeWorkflow>>;
  /** Per supported mode: credits per unit (the file's value, else the default). */
  costs: Partial<Record<GenerationMode, ModeCost>>;
  /** Per mode: node classes and model files a worker needs. */
  requirements: Partial<Record<GenerationMode, ModeRequirements>>;
  /** Union over modes, sorted. */
  requiredNodes: string[];
  /** Union over modes, sorted by folder then name. */
  requiredModelFiles: ModelFile[];
  /** File it came from, relative to the catalog directory. */
  file: string;
  /** sha256 of `definition`; changes when the file's content or derived requirements do. */
  hash: string;
  /** What is stored in the Model table's `definition` column. */
  definition: ModelDefinition & { requirements: CatalogModel['requirements'] };
}

/** The loaded catalog. */
export interface Catalog {
  dir: string;
  /** The node specifications the workflows were validated against. */
  nodeSpecs: { file: string; comfyuiCommit: string };
  /** Sorted by key. */
  models: CatalogModel[];
  /** Sorted by category, then key. */
  styles: CatalogStyle[];
  model(key: string): CatalogModel | undefined;
  style(key: string): CatalogStyle | undefined;
  /** Models that support a mode (all models when `mode` is undefined). */
  modelsFor(mode?: GenerationMode | null): CatalogModel[];
}

/** One problem in one catalog file. */
export interface CatalogIssue {
  /** Path relative to the catalog directory, e.g. `models/flux1-dev.json`. */
  file: string;
  /** Dotted field path inside the file; empty for whole-file problems. */
  path: string;
  message: string;
}

/** A catalog file is invalid; the message lists every problem with its file and field path. */
export class CatalogError extends Error {
  constructor(
    readonly dir: string,
    readonly issues: CatalogIssue[],
  ) {
    super(
      `Invalid catalog in ${dir}:\n${issues
        .map((i) => `  ${i.file}: ${i.path ? `${i.path}: ` : ''}${i.message}`)
        .join('\n')}`,
    );
    this.name = 'CatalogError';
  }
}

export interface LoadCatalogOptions {
  /**
   * nodes.json to validate workflows against. Default: `<dir>/comfyui-nodes.json` when it
   * exists, else the copy bundled with the server.
   */
  nodeSpecsFile?: string;
}

/** Reads, validates and indexes a catalog directory. Throws CatalogError when any file is bad. */
export async function loadCatalog(dir: string, options: LoadCatalogOptions = {}): Promise<Catalog> {
  const root = path.resolve(dir);
  const specsFile = options.nodeSpecsFile ?? (await defaultSpecsFile(root));
  const specs = await loadNodeSpecs(specsFile);
  const issues: CatalogIssue[] = [];

  const models: CatalogModel[] = [];
  for (const file of await listJson(root, 'models', issues)) {
    const def = await readDefinition(root, file, modelDefinitionSchema, issues);
    if (!def) continue;
    const model = buildModel(def, file, specs, issues);
    if (model) models.push(model);
  }
  const styles: CatalogStyle[] = [];
  for (const file of await listJson(root, 'styles', issues)) {
    const def = await readDefinition(root, file, styleDefinitionSchema, issues);
    if (def) styles.push(buildStyle(def, file));
  }
  checkDuplicates(models, issues);
  checkDuplicates(styles, issues);
  if (issues.length) throw new CatalogError(root, issues);

  models.sort((a, b) => a.key.localeCompare(b.key));
  styles.sort((a, b) => a.category.localeCompare(b.category) || a.key.localeCompare(b.key));
  const modelIndex = new Map(models.map((m) => [m.key, m]));
  const styleIndex = new Map(styles.map((s) => [s.key, s]));
  return {
    dir: root,
    nodeSpecs: { file: specs.file, comfyuiCommit: specs.comfyuiCommit },
    models,
    styles,
    model: (key) => modelIndex.get(key),
    style: (key) => styleIndex.get(key),
    modelsFor: (mode) => (mode ? models.filter((m) => m.modes.includes(mode)) : models),
  };
}

async function defaultSpecsFile(root: string): Promise<string> {
  const local = path.join(root, NODE_SPECS_FILE_NAME);
  const found = await stat(local).then(
    (s) => s.isFile(),
    () => false,
  );
  return found ? local : BUNDLED_NODE_SPECS_FILE;
}

async function listJson(root: string, sub: string, issues: CatalogIssue[]): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(path.join(root, sub));
  } catch (error) {
    issues.push({
      file: `${sub}/`,
      path: '',
      message: `cannot read directory (${(error as Error).message})`,
    });
    return [];
  }
  return entries
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => `${sub}/${name}`);
}

async function readDefinition<S extends z.ZodType>(
  root: string,
  file: string,
  schema: S,
  issues: CatalogIssue[],
): Promise<z.output<S> | null> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path.join(root, file), 'utf8'));
  } catch (error) {
    issues.push({ file, path: '', message: `invalid JSON: ${(error as Error).message}` });
    return null;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({ file, path: issue.path.map(String).join('.'), message: issue.message });
    }
    return null;
  }
  return parsed.data;
}

function buildModel(
  def: ModelDefinition,
  file: string,
  specs: NodeSpecs,
  issues: CatalogIssue[],
): CatalogModel | null {
  const report = validateModel(def, specs);
  if (report.issues.length) {
    for (const issue of report.issues) issues.push({ file, ...issue });
    return null;
  }
  const modes = GENERATION_MODES.filter((m) => def.workflows[m]);
  for (const mode of Object.keys(def.costs) as GenerationMode[]) {
    if (!modes.includes(mode)) {
      issues.push({ file, path: `costs.${mode}`, message: `the model has no ${mode} workflow` });
      return null;
    }
  }
  const { $schema: _ignored, ...content } = def;
  const definition = { ...content, requirements: report.requirements };
  const requirements = Object.values(report.requirements);
  const files = new Map<string, ModelFile>();
  for (const r of requirements) for (const f of r.modelFiles) files.set(`${f.folder}/${f.name}`, f);
  return {
    key: def.key,
    name: def.name,
    description: def.description,
    outputKind: def.outputKind,
    modes,
    parameters: def.parameters,
    maxReferences: def.maxReferences,
    minReferences: report.minReferences,
    defaultNegativePrompt: def.defaultNegativePrompt,
    promptLimit: def.promptLimit,
    promptTemplate: def.promptTemplate ?? null,
    sources: def.sources,
    options: def.options ?? {},
    maxVideoArea: def.maxVideoArea ?? null,
    workflows: def.workflows,
    costs: Object.fromEntries(
      modes.map((mode) => [mode, modeCost(def.outputKind, mode, def.costs[mode])]),
    ),
    requirements: report.requirements,
    requiredNodes: [...new Set(requirements.flatMap((r) => r.nodes))].sort(),
    requiredModelFiles: [...files.values()].sort(
      (a, b) => a.folder.localeCompare(b.folder) || a.name.localeCompare(b.name),
    ),
    file,
    hash: sha256(definition),
    definition,
  };
}

function buildStyle(def: StyleDefinition, file: string): CatalogStyle {
  const { $schema: _ignored, ...content } = def;
  return { ...content, file, hash: sha256(content) };
}

function checkDuplicates(items: { key: string; file: string }[], issues: CatalogIssue[]) {
  const first = new Map<string, string>();
  for (const item of items) {
    const other = first.get(item.key);
    if (other)
      issues.push({
        file: item.file,
        path: 'key',
        message: `duplicate key "${item.key}" (also in ${other})`,
      });
    else first.set(item.key, item.file);
  }
}

function sha256(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/**
 * Mirrors the catalog into the Model and Style tables: inserts new keys, updates rows whose
 * hash changed or that were retired (clearing `retiredAt`), and sets `retiredAt` on keys the
 * catalog no longer has. Rows are never deleted: runs keep pointing at their model and style.
 */
export async function syncCatalog(prisma: PrismaClient, catalog: Catalog): Promise<void> {
  const now = new Date();
  const [models, styles] = await Promise.all([
    prisma.model.findMany({ select: { key: true, hash: true, retiredAt: true } }),
    prisma.style.findMany({ select: { key: true, hash: true, retiredAt: true } }),
  ]);
  const current = (rows: { key: string; hash: string; retiredAt: Date | null }[]) =>
    new Map(rows.map((r) => [r.key, r]));
  const modelRows = current(models);
  const styleRows = current(styles);
  const unchanged = (row: { hash: string; retiredAt: Date | null } | undefined, hash: string) =>
    row !== undefined && row.hash === hash && row.retiredAt === null;

  const writes = [];
  for (const m of catalog.models) {
    if (unchanged(modelRows.get(m.key), m.hash)) continue;
    const data = {
      name: m.name,
      description: m.description,
      outputKind: m.outputKind,
      modes: m.modes,
      definition: m.definition as object,
      hash: m.hash,
      retiredAt: null,
    };
    writes.push(
      prisma.model.upsert({ where: { key: m.key }, create: { key: m.key, ...data }, update: data }),
    );
  }
  for (const s of catalog.styles) {
    if (unchanged(styleRows.get(s.key), s.hash)) continue;
    const data = {
      name: s.name,
      category: s.category,
      description: s.description,
      template: s.template,
      llmInstruction: s.llmInstruction ?? null,
      hash: s.hash,
      retiredAt: null,
    };
    writes.push(
      prisma.style.upsert({ where: { key: s.key }, create: { key: s.key, ...data }, update: data }),
    );
  }
  writes.push(
    prisma.model.updateMany({
      where: { key: { notIn: catalog.models.map((m) => m.key) }, retiredAt: null },
      data: { retiredAt: now },
    }),
    prisma.style.updateMany({
      where: { key: { notIn: catalog.styles.map((s) => s.key) }, retiredAt: null },
      data: { retiredAt: now },
    }),
  );
  await prisma.$transaction(writes);
}
