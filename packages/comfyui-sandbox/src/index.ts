// Public API of @atelier/comfyui-sandbox: a ComfyUI-protocol stand-in with no model weights.

export type { PromptLogEntry, SandboxStats } from './core.ts';
export type { ExecutionKnobs } from './executor.ts';
export type { ArmedFaults, DropSocketFault, HangFault, HttpFault, NodeFault } from './faults.ts';
export {
  DEFAULT_MODELS,
  MODEL_FOLDERS,
  modelsFromCatalogDir,
  modelsFromWorkflows,
} from './models.ts';
export { dedicatedClasses } from './nodes/registry.ts';
export { type RestartOptions, Sandbox, type SandboxOptions, startSandbox } from './sandbox.ts';
export { encodePreviewImage, encodePreviewWithMetadata, type PreviewMetadata } from './ws.ts';
