// Before/after table from two `bench/speed.ts --json` files: each measure with the baseline
// taken in the same run, the ratio against it, and whether the target is met.
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

const [beforeFile, afterFile] = process.argv.slice(2);
if (!beforeFile || !afterFile) throw new Error('usage: compare.ts before.json after.json');
const before = JSON.parse(await readFile(beforeFile, 'utf8')) as Run;
const after = JSON.parse(await readFile(afterFile, 'utf8')) as Run;

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
const measures = [...new Set([...before.rows, ...after.rows].map((r) => r.measure))];
const lines = [
  `Before: ${before.label || beforeFile}, ${before.date.slice(0, 16).replace('T', ' ')} UTC, \`${before.commit}\`${before.build ? `, ${before.build}` : ''}. After: ${after.label || afterFile}, ${after.date.slice(0, 16).replace('T', ' ')} UTC, \`${after.commit}\`${after.build ? `, ${after.build}` : ''}. Each cell: Atelier vs the baseline measured in the same run (Atelier ÷ baseline). 1-minute load average at the scenarios' starts (2 cores, shared with other work): before ${loadRange(before)}, after ${loadRange(after)}.`,
  '',
  '| measure | target | before: Atelier vs baseline | met | after: Atelier vs baseline | met |',
  '|---|---|---|---|---|---|',
  ...measures.map((m) => {
    const b = before.rows.find((r) => r.measure === m);
    const a = after.rows.find((r) => r.measure === m);
    return `| ${m} | ${(a ?? b)!.target} | ${cell(b)} | ${verdict(b)} | ${cell(a)} | ${verdict(a)} |`;
  }),
  '',
];
console.log(lines.join('\n'));
