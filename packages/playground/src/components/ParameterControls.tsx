// Controls generated from a model's parameter schema: a slider and a number input for INT
// and FLOAT (min, max, step), a select for ENUM, a checkbox for BOOLEAN, text for STRING.
import type { GenerationMode, ModelParameter } from '@atelier/sdk';

export type ParameterValues = Record<string, unknown>;

/** The parameters of `mode`, with their defaults. */
export function parameterDefaults(
  parameters: readonly ModelParameter[],
  mode: GenerationMode,
): ParameterValues {
  const values: ParameterValues = {};
  for (const p of parameters) if (p.modes.includes(mode)) values[p.name] = p.default;
  return values;
}

/** Snaps a number onto the parameter's grid (min + k·step) and range. */
export function snap(p: ModelParameter, value: number): number {
  let v = value;
  if (p.min != null) v = Math.max(p.min, v);
  if (p.max != null) v = Math.min(p.max, v);
  if (p.step) {
    const base = p.min ?? 0;
    v = base + Math.round((v - base) / p.step) * p.step;
    const decimals = (String(p.step).split('.')[1] ?? '').length;
    v = Number(v.toFixed(decimals));
  }
  if (p.type === 'INT') v = Math.round(v);
  return v;
}

function label(name: string): string {
  const spaced = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

interface Props {
  parameters: readonly ModelParameter[];
  mode: GenerationMode;
  values: ParameterValues;
  onChange: (values: ParameterValues) => void;
  invalidField?: string | null;
  invalidMessage?: string | null;
}

export function ParameterControls({
  parameters,
  mode,
  values,
  onChange,
  invalidField,
  invalidMessage,
}: Props) {
  const applicable = parameters.filter((p) => p.modes.includes(mode));
  if (!applicable.length) return <p className="field-help">This model has no parameters.</p>;
  const set = (name: string, value: unknown) => onChange({ ...values, [name]: value });

  return (
    <div data-testid="parameters">
      {applicable.map((p) => {
        const id = `param-${p.name}`;
        const value = values[p.name] ?? p.default;
        const invalid = invalidField === `parameters.${p.name}`;
        const cls = `field${invalid ? ' invalid' : ''}`;
        const problem = invalid ? (
          <div key="error" className="field-error" data-testid={`field-error-parameters.${p.name}`}>
            {invalidMessage}
          </div>
        ) : null;
        switch (p.type) {
          case 'INT':
          case 'FLOAT': {
            const n = typeof value === 'number' ? value : Number(value);
            return (
              <div className={cls} key={p.name} title={p.description}>
                <label className="field-label" htmlFor={id}>
                  {label(p.name)}
                  <span className="hint">
                    {p.min ?? '−∞'} – {p.max ?? '∞'}
                  </span>
                </label>
                <div className="slider-row">
                  <input
                    type="range"
                    aria-label={`${label(p.name)} slider`}
                    data-testid={`param-${p.name}-range`}
                    min={p.min ?? undefined}
                    max={p.max ?? undefined}
                    step={p.step ?? (p.type === 'INT' ? 1 : 'any')}
                    value={Number.isFinite(n) ? n : 0}
                    onChange={(e) => set(p.name, snap(p, Number(e.target.value)))}
                  />
                  <input
                    id={id}
                    type="number"
                    data-testid={`param-${p.name}`}
                    min={p.min ?? undefined}
                    max={p.max ?? undefined}
                    step={p.step ?? (p.type === 'INT' ? 1 : 'any')}
                    value={Number.isFinite(n) ? n : ''}
                    onChange={(e) =>
                      set(p.name, e.target.value === '' ? p.default : Number(e.target.value))
                    }
                    onBlur={(e) => {
                      if (e.target.value !== '') set(p.name, snap(p, Number(e.target.value)));
                    }}
                  />
                </div>
                {problem}
                <div className="field-help">{p.description}</div>
              </div>
            );
          }
          case 'ENUM':
            return (
              <div className={cls} key={p.name}>
                <label className="field-label" htmlFor={id}>
                  {label(p.name)}
                </label>
                <select
                  id={id}
                  data-testid={`param-${p.name}`}
                  value={String(value)}
                  onChange={(e) => set(p.name, e.target.value)}
                >
                  {(p.options ?? []).map((o) => (
                    <option key={o} value={o}>
                      {o}
                    </option>
                  ))}
                </select>
                {problem}
                <div className="field-help">{p.description}</div>
              </div>
            );
          case 'BOOLEAN':
            return (
              <div className={cls} key={p.name}>
                <label className="checkbox" htmlFor={id}>
                  <input
                    id={id}
                    type="checkbox"
                    data-testid={`param-${p.name}`}
                    checked={value === true}
                    onChange={(e) => set(p.name, e.target.checked)}
                  />
                  {label(p.name)}
                </label>
                {problem}
                <div className="field-help">{p.description}</div>
              </div>
            );
          default:
            return (
              <div className={cls} key={p.name}>
                <label className="field-label" htmlFor={id}>
                  {label(p.name)}
                </label>
                <input
                  id={id}
                  type="text"
                  data-testid={`param-${p.name}`}
                  value={String(value ?? '')}
                  onChange={(e) => set(p.name, e.target.value)}
                />
                {problem}
                <div className="field-help">{p.description}</div>
              </div>
            );
        }
      })}
    </div>
  );
}
