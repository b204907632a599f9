// The node classes the sandbox implements: dedicated implementations first, then every class
// of nodes.json the generic rules can execute.
import { allNodeSpecs } from '../specs.ts';
import { avNodes } from './av.ts';
import type { NodeImpl } from './context.ts';
import { genericImpl } from './generic.ts';
import { imageNodes } from './image.ts';
import { imageIoNodes } from './imageio.ts';
import { maskNodes } from './mask.ts';
import { modelNodes } from './model.ts';
import { samplingNodes } from './sampling.ts';

const DEDICATED: Record<string, NodeImpl> = {
  ...imageIoNodes,
  ...imageNodes,
  ...maskNodes,
  ...modelNodes,
  ...samplingNodes,
  ...avNodes,
};

let cached: Map<string, NodeImpl> | undefined;

/** class_type → implementation for every class the sandbox can execute. */
export function implementations(): Map<string, NodeImpl> {
  if (cached) return cached;
  const out = new Map<string, NodeImpl>();
  for (const [classType, spec] of Object.entries(allNodeSpecs())) {
    const impl = DEDICATED[classType] ?? genericImpl(spec);
    if (impl) out.set(classType, impl);
  }
  cached = out;
  return out;
}

/** Classes with a dedicated (not generic) implementation. */
export function dedicatedClasses(): string[] {
  return Object.keys(DEDICATED).filter((c) => c in allNodeSpecs());
}
