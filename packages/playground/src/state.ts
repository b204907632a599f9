// The studio's form state: per mode (model, parameters, negative prompt, inputs) and shared
// across modes (prompt, style, count, seed, output options).
import type { GenerationMode, OutputBackground, OutputFormat, Run } from '@atelier/sdk';
import type { ParameterValues } from './components/ParameterControls.tsx';
import type { UploadItem } from './components/Uploader.tsx';

export interface ModeForm {
  modelKey: string | null;
  parameters: ParameterValues;
  negativePrompt: string;
  source: UploadItem[];
  references: UploadItem[];
}

export interface SharedForm {
  prompt: string;
  style: string;
  count: number;
  seed: string;
  format: OutputFormat;
  quality: string;
  background: OutputBackground;
}

export const EMPTY_MODE_FORM: ModeForm = {
  modelKey: null,
  parameters: {},
  negativePrompt: '',
  source: [],
  references: [],
};

export const INITIAL_SHARED: SharedForm = {
  prompt: '',
  style: '',
  count: 1,
  seed: '',
  format: 'PNG',
  quality: '',
  background: 'AUTO',
};

/** What the recent-runs list shows of a run. */
export interface RunSummary {
  id: string;
  mode: GenerationMode;
  modelKey: string;
  prompt: string;
  status: Run['status'];
  createdAt: string;
  thumbnailUrl: string | null;
  outputKind: string | null;
}

export function summarize(run: Run): RunSummary {
  const first = run.outputs[0];
  return {
    id: run.id,
    mode: run.mode,
    modelKey: run.modelKey,
    prompt: run.prompt,
    status: run.status,
    createdAt: run.createdAt,
    thumbnailUrl: first
      ? (first.thumbnailUrl ?? (first.kind === 'IMAGE' ? first.url : null))
      : null,
    outputKind: first?.kind ?? null,
  };
}
