// Before/after table from `bench/speed.ts --json` files (two or more, in column order): each
// measure with the baseline taken in the same run, the ratio against it, and whether the
// target is met.
//
//   node --import tsx bench/speed/compare.ts before.json after.json
import { readFile } from 'node:fs/promises';
import type { SummaryRow } from './lib.ts';

interface Run {
  label: string;
  date: string;
  commit: string;
  machine: string;
  build?: string;
  loads?: number[];
  rows: SummaryRow[];
}

const files = process.argv.slice(2);
if (files.length < 2) throw new Error('usage: compare.ts before.json [more.json ...] after.json');
const runs = await Promise.all(
  files.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as Run),
);

function fmt(v: number | null | undefined, unit: SummaryRow['unit']): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  switch (unit) {
    case 'ms':
      return `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;
    case '%':
      return `${v.toFixed(1)} %`;
    case '/s':
      return `${v.toFixed(1)}/s`;
    case 'MB':
      return `${v.toFixed(0)} MB`;
    case '×':
      return `${v.toFixed(1)}×`;
  }
}

function cell(row: SummaryRow | undefined): string {
  if (!row) return 'not measured';
  const base = row.baseline;
  const ratio = base ? ` (${(row.value / base).toFixed(2)}×)` : '';
  return `${fmt(row.value, row.unit)} vs ${fmt(base, row.unit)}${ratio}`;
}

const verdict = (row: SummaryRow | undefined) =>
  !row || row.met === null ? '—' : row.met ? 'met' : '**not met**';

const loadRange = (run: Run) =>
  run.loads?.length
    ? `${Math.min(...run.loads).toFixed(1)}–${Math.max(...run.loads).toFixed(1)}`
    : 'not recorded';
const name = (run: Run, i: number) =>
  `${run.label || files[i]}, finished ${run.date.slice(11, 16)} UTC`;
const measures = [...new Set(runs.flatMap((r) => r.rows.map((row) => row.measure)))];
const lines = [
  ...runs.map(
    (run, i) =>
      `- ${name(run, i)}: \`${run.commit}\`${run.build ? `, ${run.build}` : ''}; 1-minute load average at the scenarios' starts ${loadRange(run)}.`,
  ),
  '',
  'Each cell: Atelier vs the baseline measured in the same run (Atelier ÷ baseline).',
  '',
  `| measure | target | ${runs.map((r, i) => `${name(r, i)} | met`).join(' | ')} |`,
  `|---|---|${runs.map(() => '---|---').join('|')}|`,
  ...measures.map((m) => {
    const cells = runs.map((run) => run.rows.find((r) => r.measure === m));
    const target = cells.find(Boolean)!.target;
    return `| ${m} | ${target} | ${cells.map((c) => `${cell(c)} | ${verdict(c)}`).join(' | ')} |`;
  }),
  '',
];
console.log(lines.join('\n'));
