// Typed in-process pub/sub for subscriptions. Payloads carry ids and a sequence number;
// subscribers re-read state from the database.
import { createPubSub } from 'graphql-yoga';
import type { StageKind } from './generated/prisma/enums.ts';

export type RunEventType =
  | 'SNAPSHOT'
  | 'STAGE_STARTED'
  | 'STAGE_PROGRESS'
  | 'STAGE_FINISHED'
  | 'PREVIEW'
  | 'OUTPUT'
  | 'RUN_FINISHED';

export interface PreviewPayload {
  mimeType: string;
  /** data: URL of the image, small enough to ship in an event. */
  dataUrl: string;
  nodeId: string | null;
}

export interface RunEventPayload {
  runId: string;
  sequence: number;
  type: RunEventType;
  stage: StageKind | null;
  preview: PreviewPayload | null;
  /** For OUTPUT: the Media created. */
  mediaId: string | null;
}

export interface QueueChangedPayload {
  at: number;
}

export type PubSub = ReturnType<typeof createAtelierPubSub>;

export function createAtelierPubSub() {
  return createPubSub<{
    /** `run:<id>`: every change of one run. */
    run: [runId: string, payload: RunEventPayload];
    /** Anything that changes queue counts, positions or workers. */
    queue: [payload: QueueChangedPayload];
  }>();
}
