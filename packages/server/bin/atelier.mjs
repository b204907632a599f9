#!/usr/bin/env node
// `atelier-server`: the server's commands (serve, worker, migrate, keys). Registers tsx so the
// TypeScript sources run as they are, then hands over to src/main.ts. The `atelier` command
// (@atelier/cli) forwards these commands here.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
