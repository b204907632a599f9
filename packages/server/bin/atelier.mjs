#!/usr/bin/env node
// The `atelier` command: registers tsx so the TypeScript sources run as they are, then
// hands over to src/main.ts.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
