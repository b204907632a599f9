// The model files the sandbox pretends to have. There are no weights: a name in a folder only
// makes loaders accept it, `/models/{folder}` list it and `/object_info` combos offer it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { allNodeSpecs, resolveInputs } from './specs.ts';

/** ComfyUI's model folders (`folder_paths.folder_names_and_paths`), in its order. */
export const MODEL_FOLDERS = [
  'checkpoints',
  'configs',
  'loras',
  'vae',
  'text_encoders',
  'diffusion_models',
  'clip_vision',
  'style_models',
  'embeddings',
  'diffusers',
  'vae_approx',
  'controlnet',
  'gligen',
  'upscale_models',
  'latent_upscale_models',
  'custom_nodes',
  'hypernetworks',
  'photomaker',
  'classifiers',
  'model_patches',
  'audio_encoders',
  'background_removal',
  'frame_interpolation',
  'optical_flow',
  'geometry_estimation',
  'detection',
];

/** Files of the workflows in ComfyUI's examples, blueprints and the usual repackagings. */
export const DEFAULT_MODELS: Record<string, string[]> = {
  checkpoints: [
    'v1-5-pruned-emaonly.safetensors',
    '512-inpainting-ema.safetensors',
    'sd_xl_base_1.0.safetensors',
    'sd_xl_refiner_1.0.safetensors',
    'sd3.5_large.safetensors',
    'sd3.5_medium_incl_clips_t5xxlfp8scaled.safetensors',
    'flux1-dev-fp8.safetensors',
    'flux1-schnell-fp8.safetensors',
    'ace_step_v1_3.5b.safetensors',
    'ltx-video-2b-v0.9.5.safetensors',
    'ltxv-2b-0.9.8-distilled-fp8.safetensors',
  ],
  diffusion_models: [
    'flux1-dev.safetensors',
    'flux1-schnell.safetensors',
    'flux1-dev-kontext_fp8_scaled.safetensors',
    'flux1-fill-dev.safetensors',
    'flux2_dev_fp8mixed.safetensors',
    'qwen_image_fp8_e4m3fn.safetensors',
    'qwen_image_edit_fp8_e4m3fn.safetensors',
    'qwen_image_edit_2509_fp8_e4m3fn.safetensors',
    'z_image_turbo_bf16.safetensors',
    'wan2.1_t2v_1.3B_fp16.safetensors',
    'wan2.1_i2v_480p_14B_fp8_scaled.safetensors',
    'wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors',
    'wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors',
    'wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors',
    'wan2.2_i2v_low_noise_14B_fp8_scaled.safetensors',
    'wan2.2_ti2v_5B_fp16.safetensors',
  ],
  text_encoders: [
    'clip_l.safetensors',
    'clip_g.safetensors',
    't5xxl_fp16.safetensors',
    't5xxl_fp8_e4m3fn.safetensors',
    't5xxl_fp8_e4m3fn_scaled.safetensors',
    'qwen_2.5_vl_7b_fp8_scaled.safetensors',
    'qwen_3_4b.safetensors',
    'umt5_xxl_fp8_e4m3fn_scaled.safetensors',
    'umt5_xxl_fp16.safetensors',
    'mistral_3_small_flux2_fp8.safetensors',
  ],
  vae: [
    'ae.safetensors',
    'flux2-vae.safetensors',
    'qwen_image_vae.safetensors',
    'sdxl_vae.safetensors',
    'vae-ft-mse-840000-ema-pruned.safetensors',
    'wan_2.1_vae.safetensors',
    'wan2.2_vae.safetensors',
  ],
  loras: [
    'Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors',
    'Qwen-Image-Edit-Lightning-4steps-V1.0-bf16.safetensors',
    'Qwen-Image-Lightning-4steps-V1.0.safetensors',
    'wan2.2_i2v_lightx2v_4steps_lora_v1_high_noise.safetensors',
    'wan2.2_i2v_lightx2v_4steps_lora_v1_low_noise.safetensors',
    'wan2.2_t2v_lightx2v_4steps_lora_v1.1_high_noise.safetensors',
    'wan2.2_t2v_lightx2v_4steps_lora_v1.1_low_noise.safetensors',
  ],
  clip_vision: ['clip_vision_h.safetensors', 'sigclip_vision_patch14_384.safetensors'],
  upscale_models: ['4x-UltraSharp.pth', 'RealESRGAN_x4plus.pth'],
  background_removal: ['birefnet.safetensors'],
};

/** A deep copy of a folder → files map, each list sorted and deduplicated. */
export function normalizeModels(models: Record<string, string[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [folder, files] of Object.entries(models)) out[folder] = [...new Set(files)].sort();
  return out;
}

export function mergeModels(
  a: Record<string, string[]>,
  b: Record<string, string[]>,
): Record<string, string[]> {
  const out: Record<string, string[]> = { ...a };
  for (const [folder, files] of Object.entries(b)) out[folder] = [...(out[folder] ?? []), ...files];
  return normalizeModels(out);
}

function isWorkflow(
  v: unknown,
): v is Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const nodes = Object.values(v);
  return (
    nodes.length > 0 &&
    nodes.every(
      (n) =>
        n &&
        typeof n === 'object' &&
        typeof (n as { class_type?: unknown }).class_type === 'string',
    )
  );
}

/** The model files API-format workflows load: loader combos whose folder is not `input`. */
export function modelsFromWorkflows(workflows: unknown[]): Record<string, string[]> {
  const specs = allNodeSpecs();
  const out: Record<string, string[]> = {};
  for (const wf of workflows) {
    if (!isWorkflow(wf)) continue;
    for (const node of Object.values(wf)) {
      const spec = specs[node.class_type];
      if (!spec) continue;
      for (const input of resolveInputs(spec, node.inputs ?? {})) {
        const folder = input.spec.folder;
        const value = node.inputs?.[input.name];
        if (!folder || folder === 'input' || typeof value !== 'string') continue;
        if (node.class_type === 'VAELoader' && value === 'pixel_space') continue;
        out[folder] = [...(out[folder] ?? []), value];
      }
    }
  }
  return normalizeModels(out);
}

/** Every API-format workflow found anywhere inside a parsed JSON document. */
export function findWorkflows(doc: unknown, found: unknown[] = []): unknown[] {
  if (isWorkflow(doc)) {
    found.push(doc);
    return found;
  }
  if (doc && typeof doc === 'object') {
    for (const v of Object.values(doc)) findWorkflows(v, found);
  }
  return found;
}

/** The model files of every workflow in the `*.json` files under `dir` (recursively). */
export function modelsFromCatalogDir(dir: string): Record<string, string[]> {
  const workflows: unknown[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.json')) {
        try {
          findWorkflows(JSON.parse(readFileSync(p, 'utf8')), workflows);
        } catch {
          // Not JSON we understand (a file being written): skip it.
        }
      }
    }
  };
  walk(dir);
  return modelsFromWorkflows(workflows);
}
