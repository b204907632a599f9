// GraphQL for credit errors (the ledger and balance are on Account, auth/auth.schema.ts;
// prices on Model, models/models.schema.ts).
import { builder } from '../builder.ts';
import { errorTypeOptions } from '../errors.ts';
import { InsufficientCreditsError } from './credits.errors.ts';

builder.objectType(InsufficientCreditsError, {
  name: 'InsufficientCreditsError',
  description: 'The run costs more credits than the account has; nothing was created.',
  ...errorTypeOptions(InsufficientCreditsError),
  fields: (t) => ({
    needed: t.exposeInt('needed', { description: 'Credits the run costs.' }),
    balance: t.exposeInt('balance', { description: 'Credits the account has.' }),
  }),
});
