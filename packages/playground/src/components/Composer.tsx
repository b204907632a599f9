// The left column of the studio: inputs for the mode, model and its parameters, style,
// prompts, count, seed and output options, and the Generate button. Refusals from the server
// (ValidationError names the field) are shown next to that field.
import type {
  CreateRunInput,
  GenerationMode,
  GenerationQuality,
  ImageSize,
  InputFidelity,
  Model,
  Run,
  Style,
} from '@atelier/sdk';
import { useCreateRun, useModels, useStyles, useUpload } from '@atelier/sdk/react';
import { useEffect, useMemo, useRef, useState } from 'react';
import { modeInfo } from '../modes.ts';
import type { ModeForm, SharedForm } from '../state.ts';
import { type MaskHandle, MaskPainter } from './MaskPainter.tsx';
import {
  ParameterControls,
  type ParameterValues,
  parameterDefaults,
} from './ParameterControls.tsx';
import { Uploader } from './Uploader.tsx';

export interface FormError {
  field: string | null;
  code: string;
  message: string;
}

interface Props {
  mode: GenerationMode;
  form: ModeForm;
  setForm: (update: (form: ModeForm) => ModeForm) => void;
  shared: SharedForm;
  setShared: (update: (shared: SharedForm) => SharedForm) => void;
  onCreated: (run: Run) => void;
}

const OPTION_LABELS: Record<string, string> = {
  AUTO: 'Auto',
  SIZE_1024X1024: '1024 × 1024',
  SIZE_1536X1024: '1536 × 1024 (landscape)',
  SIZE_1024X1536: '1024 × 1536 (portrait)',
  LOW: 'Low',
  MEDIUM: 'Medium',
  HIGH: 'High',
};

/** The parameters whose value differs from the model's default for `mode`. */
function changedParameters(model: Model, mode: GenerationMode, values: ParameterValues) {
  const defaults = parameterDefaults(model.parameters, mode);
  return Object.fromEntries(
    Object.entries(values).filter(([name, value]) => value !== defaults[name]),
  );
}

/** Size, quality and input fidelity, for the models that have them (Model.sizes, ...). */
function OptionControls({
  model,
  form,
  setForm,
  invalid,
}: {
  model: Model;
  form: ModeForm;
  setForm: (update: (form: ModeForm) => ModeForm) => void;
  invalid: (field: string) => boolean;
}) {
  const options = [
    { field: 'size', key: 'size', label: 'Size', values: model.sizes },
    { field: 'quality', key: 'generationQuality', label: 'Quality', values: model.qualities },
    {
      field: 'inputFidelity',
      key: 'inputFidelity',
      label: 'Input fidelity',
      values: model.inputFidelities,
    },
  ] as const;
  const shown = options.filter((o) => o.values.length);
  if (!shown.length) return null;
  return (
    <div className="row">
      {shown.map((o) => (
        <div key={o.key} className={`field${invalid(o.field) ? ' invalid' : ''}`}>
          <label className="field-label" htmlFor={`option-${o.field}`}>
            {o.label}
          </label>
          <select
            id={`option-${o.field}`}
            data-testid={`option-${o.field}`}
            value={form[o.key]}
            onChange={(e) => {
              const value = e.target.value;
              setForm((f) => ({ ...f, [o.key]: value }));
            }}
          >
            {o.values.map((v) => (
              <option key={v} value={v}>
                {OPTION_LABELS[v] ?? v}
              </option>
            ))}
          </select>
        </div>
      ))}
    </div>
  );
}

/** The form's state for `model`: its defaults (parameters, negative prompt). */
export function formForModel(form: ModeForm, model: Model, mode: GenerationMode): ModeForm {
  return {
    ...form,
    modelKey: model.key,
    parameters: parameterDefaults(model.parameters, mode),
    negativePrompt: model.defaultNegativePrompt ?? '',
  };
}

const FIELD_LABELS: Record<string, string> = {
  prompt: 'Prompt',
  negativePrompt: 'Negative prompt',
  model: 'Model',
  mode: 'Mode',
  style: 'Style',
  count: 'Count',
  seed: 'Seed',
  source: 'Source image',
  mask: 'Mask',
  references: 'Reference images',
  'output.quality': 'Quality',
  'output.background': 'Background',
  'output.format': 'Format',
};

export function fieldLabel(field: string): string {
  if (FIELD_LABELS[field]) return FIELD_LABELS[field];
  if (field.startsWith('parameters.')) return `Parameter “${field.slice(11)}”`;
  if (field.startsWith('references.')) return `Reference image ${Number(field.slice(11)) + 1}`;
  return field;
}

export function Composer({ mode, form, setForm, shared, setShared, onCreated }: Props) {
  const info = modeInfo(mode);
  const models = useModels(mode);
  const styles = useStyles();
  const { createRun, fetching: creating } = useCreateRun();
  const { upload } = useUpload();
  const mask = useRef<MaskHandle | null>(null);
  const [maskPainted, setMaskPainted] = useState(false);
  const [maskStatus, setMaskStatus] = useState<'idle' | 'uploading' | 'error'>('idle');
  const [error, setError] = useState<FormError | null>(null);

  const model = models.data.find((m) => m.key === form.modelKey) ?? null;

  // Pick the first model of the mode until the user picks one (or when it left the list).
  useEffect(() => {
    const first = models.data[0];
    if (!first) return;
    if (!form.modelKey || !models.data.some((m) => m.key === form.modelKey)) {
      setForm((f) => formForModel(f, first, mode));
    }
  }, [models.data, form.modelKey, mode, setForm]);

  // A new mode starts without the previous mode's error.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on mode change only
  useEffect(() => setError(null), [mode]);

  const stylesByCategory = useMemo(() => {
    const groups = new Map<string, Style[]>();
    for (const s of styles.data) groups.set(s.category, [...(groups.get(s.category) ?? []), s]);
    return [...groups.entries()];
  }, [styles.data]);

  const source = form.source[0]?.media ?? null;
  const uploading =
    form.source.some((i) => i.status === 'uploading') ||
    form.references.some((i) => i.status === 'uploading');
  const isImage = model?.outputKind !== 'VIDEO' && model?.outputKind !== 'AUDIO';
  const takesNegative = model ? model.defaultNegativePrompt != null : true;
  const invalid = (field: string) => error?.field === field;
  const fieldError = (field: string) =>
    error?.field === field ? (
      <div className="field-error" data-testid={`field-error-${field}`}>
        {error.message}
      </div>
    ) : null;

  // Bring the offending field (or the message) into view.
  useEffect(() => {
    if (!error) return;
    const target =
      document.querySelector(
        '[data-testid="composer"] .field.invalid, [data-testid="composer"] .invalid-box',
      ) ?? document.querySelector('[data-testid="form-error"]');
    target?.scrollIntoView({ block: 'center', behavior: 'smooth' });
  }, [error]);

  const submit = async () => {
    setError(null);
    if (!model) {
      setError({ field: 'model', code: 'VALIDATION', message: 'Pick a model.' });
      return;
    }
    let maskId: string | undefined;
    if (info.mask && source) {
      const blob = await mask.current?.toMaskBlob();
      if (!blob) {
        setError({
          field: 'mask',
          code: 'VALIDATION',
          message: 'Paint over the area to repaint on the source image.',
        });
        return;
      }
      setMaskStatus('uploading');
      try {
        const result = await upload(blob, { purpose: 'MASK', filename: 'mask.png' });
        if (result.__typename !== 'UploadMediaSuccess') {
          setMaskStatus('error');
          setError({ field: 'mask', code: result.code, message: result.message });
          return;
        }
        maskId = result.media.id;
        setMaskStatus('idle');
      } catch (e) {
        setMaskStatus('error');
        setError({ field: 'mask', code: 'REQUEST_FAILED', message: (e as Error).message });
        return;
      }
    }

    const quality = form.quality.trim() === '' ? undefined : Number(form.quality);
    const input: CreateRunInput = {
      mode,
      model: model.key,
      prompt: shared.prompt,
      ...(takesNegative && form.negativePrompt.trim()
        ? { negativePrompt: form.negativePrompt }
        : {}),
      ...(form.style ? { style: form.style } : {}),
      ...(info.source && source ? { source: source.id } : {}),
      ...(maskId ? { mask: maskId } : {}),
      ...(info.references
        ? { references: form.references.flatMap((i) => (i.media ? [i.media.id] : [])) }
        : {}),
      count: form.count,
      ...(form.seed.trim() ? { seed: form.seed.trim() } : {}),
      // Only what the user changed: the model's defaults, and what the options map to,
      // apply to the rest.
      parameters: changedParameters(model, mode, form.parameters),
      ...(model.sizes.length && form.size !== 'AUTO' ? { size: form.size as ImageSize } : {}),
      ...(model.qualities.length && form.generationQuality !== 'AUTO'
        ? { quality: form.generationQuality as GenerationQuality }
        : {}),
      ...(model.inputFidelities.length && form.inputFidelity !== 'AUTO'
        ? { inputFidelity: form.inputFidelity as InputFidelity }
        : {}),
      ...(isImage
        ? {
            output: {
              format: form.format,
              background: form.background,
              ...(quality !== undefined && form.format !== 'PNG' ? { quality } : {}),
            },
          }
        : {}),
    };
    try {
      const result = await createRun(input);
      if (result.__typename === 'CreateRunSuccess') {
        onCreated(result.run);
      } else {
        setError({
          field: result.__typename === 'ValidationError' ? result.field : null,
          code: result.code,
          message: result.message,
        });
      }
    } catch (e) {
      setError({ field: null, code: 'REQUEST_FAILED', message: (e as Error).message });
    }
  };

  const references = model?.maxReferences ?? 0;

  return (
    <form
      className="panel"
      data-testid="composer"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <div className="panel-head stacked">
        <h2>{info.label}</h2>
        <span className="sub">{info.hint}</span>
      </div>
      <div className="panel-body">
        {info.source || info.references ? (
          <div className="section">
            <h3 className="section-title">Input</h3>
            {info.source ? (
              <Uploader
                slot="source"
                label={info.mask ? 'Source image' : 'Source image'}
                purpose="SOURCE"
                max={1}
                items={form.source}
                invalid={invalid('source')}
                onItemsChange={(update) => setForm((f) => ({ ...f, source: update(f.source) }))}
              />
            ) : null}
            {info.mask && source?.width && source.height ? (
              <div className={`field${invalid('mask') ? ' invalid' : ''}`}>
                <div className="field-label">
                  <span>Mask</span>
                  <span className="hint">
                    {maskStatus === 'uploading'
                      ? 'Uploading mask…'
                      : maskPainted
                        ? 'Ready'
                        : 'Nothing painted'}
                  </span>
                </div>
                <MaskPainter
                  source={{ url: source.url, width: source.width, height: source.height }}
                  handle={mask}
                  onChange={setMaskPainted}
                />
                {fieldError('mask')}
              </div>
            ) : null}
            {info.references ? (
              <Uploader
                slot="references"
                label="Reference images"
                purpose="REFERENCE"
                max={Math.max(1, references)}
                items={form.references}
                invalid={invalid('references') || !!error?.field?.startsWith('references.')}
                help={
                  model
                    ? `${model.name} takes ${model.minReferences} to ${model.maxReferences} images, in order.`
                    : undefined
                }
                onItemsChange={(update) =>
                  setForm((f) => ({ ...f, references: update(f.references) }))
                }
              />
            ) : null}
          </div>
        ) : null}

        <div className="section">
          <h3 className="section-title">Model</h3>
          <div className={`field${invalid('model') ? ' invalid' : ''}`}>
            <select
              aria-label="Model"
              data-testid="model-select"
              value={form.modelKey ?? ''}
              disabled={!models.data.length}
              onChange={(e) => {
                const next = models.data.find((m) => m.key === e.target.value);
                if (next) setForm((f) => formForModel(f, next, mode));
              }}
            >
              {!models.data.length ? (
                <option value="">{models.fetching ? 'Loading models…' : 'No models'}</option>
              ) : null}
              {models.data.map((m) => (
                <option key={m.key} value={m.key}>
                  {m.name}
                </option>
              ))}
            </select>
            {fieldError('model')}
            {model ? <div className="model-desc">{model.description}</div> : null}
            {models.error ? (
              <div className="field-error" data-testid="models-error">
                {models.error.message}
              </div>
            ) : null}
          </div>
        </div>

        <div className="section">
          <h3 className="section-title">Prompt</h3>
          <div className={`field${invalid('prompt') ? ' invalid' : ''}`}>
            <label className="field-label" htmlFor="prompt">
              Prompt
              <span className="hint">any language</span>
            </label>
            <textarea
              id="prompt"
              data-testid="prompt"
              rows={3}
              placeholder={
                mode === 'TEXT_TO_AUDIO'
                  ? 'Warm lo-fi piano with soft rain'
                  : mode === 'IMAGE_TO_AUDIO'
                    ? 'Optional: what to add to the picture’s sound (e.g. solo cello)'
                    : 'A lighthouse on a cliff at dusk, oil painting'
              }
              value={shared.prompt}
              onChange={(e) => setShared((s) => ({ ...s, prompt: e.target.value }))}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) {
                  e.preventDefault();
                  void submit();
                }
              }}
            />
            {fieldError('prompt')}
          </div>
          <div className={`field${invalid('negativePrompt') ? ' invalid' : ''}`}>
            <label className="field-label" htmlFor="negative-prompt">
              Negative prompt
              {model && !takesNegative ? (
                <span className="hint">not used by this model</span>
              ) : null}
            </label>
            <textarea
              id="negative-prompt"
              data-testid="negative-prompt"
              rows={2}
              disabled={!takesNegative}
              placeholder={takesNegative ? 'What to avoid' : ''}
              value={takesNegative ? form.negativePrompt : ''}
              onChange={(e) => setForm((f) => ({ ...f, negativePrompt: e.target.value }))}
            />
            {fieldError('negativePrompt')}
          </div>
          <div className={`field${invalid('style') ? ' invalid' : ''}`}>
            <label className="field-label" htmlFor="style">
              Style
            </label>
            <select
              id="style"
              data-testid="style-select"
              value={form.style}
              onChange={(e) => setForm((f) => ({ ...f, style: e.target.value }))}
            >
              <option value="">None</option>
              {stylesByCategory.map(([category, list]) => (
                <optgroup key={category} label={category}>
                  {list.map((s) => (
                    <option key={s.key} value={s.key}>
                      {s.name}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
            {fieldError('style')}
            {form.style ? (
              <div className="field-help">
                {styles.data.find((s) => s.key === form.style)?.description}
              </div>
            ) : null}
          </div>
        </div>

        {model ? (
          <div className="section">
            <h3 className="section-title">Parameters</h3>
            <OptionControls model={model} form={form} setForm={setForm} invalid={invalid} />
            <ParameterControls
              parameters={model.parameters}
              mode={mode}
              values={form.parameters}
              invalidField={error?.field}
              invalidMessage={error?.message}
              onChange={(parameters) => setForm((f) => ({ ...f, parameters }))}
            />
          </div>
        ) : null}

        <div className="section">
          <h3 className="section-title">Output</h3>
          <div className="row">
            <div className={`field${invalid('count') ? ' invalid' : ''}`}>
              <label className="field-label" htmlFor="count">
                Count <span className="hint">1–10</span>
              </label>
              <input
                id="count"
                type="number"
                data-testid="count"
                min={1}
                max={10}
                step={1}
                value={form.count}
                onChange={(e) =>
                  setForm((f) => ({ ...f, count: Math.round(Number(e.target.value) || 1) }))
                }
              />
              {fieldError('count')}
            </div>
            <div className={`field${invalid('seed') ? ' invalid' : ''}`}>
              <label className="field-label" htmlFor="seed">
                Seed <span className="hint">optional</span>
              </label>
              <input
                id="seed"
                type="text"
                inputMode="numeric"
                data-testid="seed"
                placeholder="Random"
                value={form.seed}
                onChange={(e) => setForm((f) => ({ ...f, seed: e.target.value }))}
              />
              {fieldError('seed')}
            </div>
          </div>
          {isImage ? (
            <div className="row">
              <div className={`field${invalid('output.format') ? ' invalid' : ''}`}>
                <label className="field-label" htmlFor="format">
                  Format
                </label>
                <select
                  id="format"
                  data-testid="output-format"
                  value={form.format}
                  onChange={(e) =>
                    setForm((f) => ({ ...f, format: e.target.value as ModeForm['format'] }))
                  }
                >
                  <option value="PNG">PNG</option>
                  <option value="JPEG">JPEG</option>
                  <option value="WEBP">WebP</option>
                </select>
              </div>
              <div className={`field${invalid('output.quality') ? ' invalid' : ''}`}>
                <label className="field-label" htmlFor="quality">
                  Quality
                </label>
                <input
                  id="quality"
                  type="number"
                  data-testid="output-quality"
                  min={1}
                  max={100}
                  placeholder={form.format === 'PNG' ? 'lossless' : 'default'}
                  disabled={form.format === 'PNG'}
                  value={form.format === 'PNG' ? '' : form.quality}
                  onChange={(e) => setForm((f) => ({ ...f, quality: e.target.value }))}
                />
                {fieldError('output.quality')}
              </div>
              <div className={`field${invalid('output.background') ? ' invalid' : ''}`}>
                <label className="field-label" htmlFor="background">
                  Background
                </label>
                <select
                  id="background"
                  data-testid="output-background"
                  value={form.background}
                  onChange={(e) =>
                    setForm((f) => ({
                      ...f,
                      background: e.target.value as ModeForm['background'],
                    }))
                  }
                >
                  <option value="AUTO">Auto</option>
                  <option value="OPAQUE">Opaque</option>
                  <option value="TRANSPARENT" disabled={form.format === 'JPEG'}>
                    Transparent
                  </option>
                </select>
                {fieldError('output.background')}
              </div>
            </div>
          ) : null}
        </div>

        <div className="section">
          {error ? (
            <div
              className="alert error"
              role="alert"
              data-testid="form-error"
              data-field={error.field ?? ''}
              data-code={error.code}
              style={{ marginBottom: 12 }}
            >
              <span className="code">{error.code}</span>
              {error.field ? <strong>{fieldLabel(error.field)}: </strong> : null}
              {error.message}
            </div>
          ) : null}
          <button
            type="submit"
            className="btn primary block"
            data-testid="generate"
            disabled={creating || uploading || maskStatus === 'uploading' || !model}
          >
            {creating || maskStatus === 'uploading' ? (
              <>
                <span className="spinner" aria-hidden="true" /> Starting…
              </>
            ) : uploading ? (
              'Waiting for uploads…'
            ) : (
              `Generate${form.count > 1 ? ` ${form.count}` : ''}`
            )}
          </button>
          <div className="field-help" style={{ textAlign: 'center' }}>
            Ctrl/⌘ + Enter in the prompt also generates.
          </div>
        </div>
      </div>
    </form>
  );
}
