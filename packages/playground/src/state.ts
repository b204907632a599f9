// The studio's form state: per mode (model, parameters, negative prompt, style, count, seed,
// output options, inputs) and shared across modes (the prompt). The settings (not the inputs)
// are kept in localStorage, so a reload finds every tab as it was left.
import type { GenerationMode, OutputBackground, OutputFormat, Run } from '@atelier/sdk';
import type { ParameterValues } from './components/ParameterControls.tsx';
import type { UploadItem } from './components/Uploader.tsx';

export interface ModeForm {
  modelKey: string | null;
  parameters: ParameterValues;
  negativePrompt: string;
  style: string;
  count: number;
  seed: string;
  format: OutputFormat;
  quality: string;
  background: OutputBackground;
  /** Uniform options (AUTO: the model's defaults); see Model.sizes, qualities, inputFidelities. */
  size: string;
  generationQuality: string;
  inputFidelity: string;
  source: UploadItem[];
  references: UploadItem[];
}

export interface SharedForm {
  prompt: string;
}

export const EMPTY_MODE_FORM: ModeForm = {
  modelKey: null,
  parameters: {},
  negativePrompt: '',
  style: '',
  count: 1,
  seed: '',
  format: 'PNG',
  quality: '',
  background: 'AUTO',
  size: 'AUTO',
  generationQuality: 'AUTO',
  inputFidelity: 'AUTO',
  source: [],
  references: [],
};

export const INITIAL_SHARED: SharedForm = { prompt: '' };

/** Where the studio keeps its settings between visits. */
export const SETTINGS_STORAGE = 'atelier.studio.settings';

type StoredModeForm = Omit<ModeForm, 'source' | 'references'>;

export interface StoredSettings {
  mode: GenerationMode | null;
  prompt: string;
  forms: Partial<Record<GenerationMode, ModeForm>>;
}

/** The settings saved by {@link saveSettings}; empty when none (or storage is unavailable). */
export function loadSettings(): StoredSettings {
  const empty: StoredSettings = { mode: null, prompt: '', forms: {} };
  try {
    const raw = window.localStorage.getItem(SETTINGS_STORAGE);
    if (!raw) return empty;
    const parsed = JSON.parse(raw) as {
      mode?: GenerationMode;
      prompt?: string;
      forms?: Partial<Record<GenerationMode, Partial<StoredModeForm>>>;
    };
    const forms: Partial<Record<GenerationMode, ModeForm>> = {};
    for (const [mode, stored] of Object.entries(parsed.forms ?? {})) {
      if (!stored || typeof stored !== 'object') continue;
      forms[mode as GenerationMode] = {
        ...EMPTY_MODE_FORM,
        ...stored,
        parameters: { ...(stored.parameters ?? {}) },
        source: [],
        references: [],
      };
    }
    return {
      mode: parsed.mode ?? null,
      prompt: typeof parsed.prompt === 'string' ? parsed.prompt : '',
      forms,
    };
  } catch {
    // Unreadable or disabled storage: start from the defaults.
    return empty;
  }
}

/** Saves the settings of every tab (not its uploaded inputs), the tab and the prompt. */
export function saveSettings(settings: StoredSettings): void {
  const forms: Partial<Record<GenerationMode, StoredModeForm>> = {};
  for (const [mode, form] of Object.entries(settings.forms)) {
    if (!form) continue;
    const { source: _source, references: _references, ...kept } = form;
    forms[mode as GenerationMode] = kept;
  }
  try {
    window.localStorage.setItem(
      SETTINGS_STORAGE,
      JSON.stringify({ mode: settings.mode, prompt: settings.prompt, forms }),
    );
  } catch {
    // Storage full or disabled: the settings still hold for this page.
  }
}

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
