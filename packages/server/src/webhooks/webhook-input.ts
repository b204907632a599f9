// The webhook enum and input, shared by createWebhook and createRun's `webhook`.
import { builder } from '../builder.ts';
import { WEBHOOK_EVENTS } from './webhooks.service.ts';

export const WebhookEventEnum = builder.enumType('WebhookEvent', {
  description: 'What a webhook is told about; the body says it as `type`.',
  values: {
    RUN_SUCCEEDED: { value: 'run.succeeded', description: '`run.succeeded`: a run ended well.' },
    RUN_FAILED: { value: 'run.failed', description: '`run.failed`: a run failed.' },
    RUN_CANCELED: { value: 'run.canceled', description: '`run.canceled`: a run was canceled.' },
  } as const,
});

export const WebhookInput = builder.inputType('WebhookInput', {
  description:
    'Where to POST the events (http or https; private and loopback addresses are refused unless the server allows them) and which.',
  fields: (t) => ({
    url: t.string({ required: true, description: 'The receiver.' }),
    events: t.field({
      type: [WebhookEventEnum],
      description: `Events to send (default: all of ${WEBHOOK_EVENTS.join(', ')}).`,
    }),
  }),
});
