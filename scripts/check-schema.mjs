// `npm run check:schema`: schema.graphql against the previous commit's (or `--base <rev>`).
// A breaking change (graphql's findBreakingChanges: a type, field or argument removed, a
// type changed, ...) fails unless it is marked: the SDK's version changes its major number
// (its minor number while it is 0.x), so clients see the break in the version they install.
// Dangerous changes are listed but pass. Exit codes: 0 fine, 1 unmarked breaking change.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSchema, findBreakingChanges, findDangerousChanges } from 'graphql';

const root = process.env.CHECK_SCHEMA_ROOT ?? fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const base = args.includes('--base') ? args[args.indexOf('--base') + 1] : 'HEAD~1';
const SDK = 'packages/sdk/package.json';

function atBase(file) {
  try {
    return execFileSync('git', ['show', `${base}:${file}`], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return null;
  }
}

const previous = atBase('schema.graphql');
if (previous === null) {
  console.log(`check-schema: no schema.graphql at ${base}; nothing to compare.`);
  process.exit(0);
}
const current = readFileSync(`${root}/schema.graphql`, 'utf8');
const before = buildSchema(previous);
const after = buildSchema(current);
const breaking = findBreakingChanges(before, after);
const dangerous = findDangerousChanges(before, after);
for (const change of dangerous) console.log(`dangerous: ${change.type}: ${change.description}`);
if (!breaking.length) {
  console.log(`check-schema: no breaking change against ${base}.`);
  process.exit(0);
}
const version = (text) => (text ? JSON.parse(text).version : '0.0.0');
const [oldMajor, oldMinor] = version(atBase(SDK)).split('.').map(Number);
const [newMajor, newMinor] = version(readFileSync(`${root}/${SDK}`, 'utf8'))
  .split('.')
  .map(Number);
const marked = oldMajor === 0 ? newMajor > 0 || newMinor > oldMinor : newMajor > oldMajor;
for (const change of breaking) console.log(`breaking: ${change.type}: ${change.description}`);
if (marked) {
  console.log('check-schema: breaking changes, marked by the SDK version bump.');
  process.exit(0);
}
console.error(
  `check-schema: ${breaking.length} breaking change(s) against ${base}. Keep the schema compatible, or mark the break by bumping the ${oldMajor === 0 ? 'minor' : 'major'} version in ${SDK}.`,
);
process.exit(1);
