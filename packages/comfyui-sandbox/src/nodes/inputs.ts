// Typed access to a node's inputs, failing the way a Python node would on a missing input.
import type {
  AudioValue,
  ConditioningValue,
  HandleValue,
  ImageValue,
  LatentValue,
  MaskValue,
  Value,
  VideoValue,
} from '../values.ts';
import { type NodeContext, NodeError } from './context.ts';

function get<T extends Value>(ctx: NodeContext, name: string, kind: T['kind']): T {
  const v = ctx.inputs[name] as Value | undefined;
  if (!v || typeof v !== 'object' || v.kind !== kind) {
    throw new NodeError(
      `${ctx.spec.function ?? 'execute'}() missing 1 required positional argument: '${name}'`,
      'TypeError',
    );
  }
  return v as T;
}

function opt<T extends Value>(ctx: NodeContext, name: string, kind: T['kind']): T | undefined {
  const v = ctx.inputs[name] as Value | undefined;
  return v && typeof v === 'object' && v.kind === kind ? (v as T) : undefined;
}

export const image = (ctx: NodeContext, name: string) => get<ImageValue>(ctx, name, 'IMAGE');
export const optImage = (ctx: NodeContext, name: string) => opt<ImageValue>(ctx, name, 'IMAGE');
export const mask = (ctx: NodeContext, name: string) => get<MaskValue>(ctx, name, 'MASK');
export const optMask = (ctx: NodeContext, name: string) => opt<MaskValue>(ctx, name, 'MASK');
export const latent = (ctx: NodeContext, name: string) => get<LatentValue>(ctx, name, 'LATENT');
export const optLatent = (ctx: NodeContext, name: string) => opt<LatentValue>(ctx, name, 'LATENT');
export const cond = (ctx: NodeContext, name: string) =>
  get<ConditioningValue>(ctx, name, 'CONDITIONING');
export const optCond = (ctx: NodeContext, name: string) =>
  opt<ConditioningValue>(ctx, name, 'CONDITIONING');
export const optHandle = (ctx: NodeContext, name: string) => opt<HandleValue>(ctx, name, 'HANDLE');
export const audio = (ctx: NodeContext, name: string) => get<AudioValue>(ctx, name, 'AUDIO');
export const optAudio = (ctx: NodeContext, name: string) => opt<AudioValue>(ctx, name, 'AUDIO');
export const video = (ctx: NodeContext, name: string) => get<VideoValue>(ctx, name, 'VIDEO');

export function num(ctx: NodeContext, name: string, fallback: number): number {
  const v = ctx.inputs[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

export function str(ctx: NodeContext, name: string, fallback = ''): string {
  const v = ctx.inputs[name];
  return typeof v === 'string' ? v : fallback;
}

export function bool(ctx: NodeContext, name: string, fallback: boolean): boolean {
  const v = ctx.inputs[name];
  return typeof v === 'boolean' ? v : fallback;
}
