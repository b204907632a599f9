// Credits: balances and their ledger. Every change of Account.creditBalance happens in a
// transaction together with one CreditTransaction row, so the balance always equals the sum
// of the account's ledger. A null balance means unlimited: nothing is charged or recorded.
import { NotFoundError, ValidationError } from '../domain-errors.ts';
import type { Account, Prisma, PrismaClient } from '../generated/prisma/client.ts';

type Tx = Prisma.TransactionClient;

/** Largest single grant, so balances stay far inside a 32-bit column. */
export const MAX_GRANT = 100_000_000;

/**
 * Locks the account row for the rest of the transaction and returns its balance
 * (undefined when the account does not exist). Concurrent charges of one account queue
 * behind this lock, so two runs can never spend the same credits.
 */
export async function lockAccount(tx: Tx, accountId: string): Promise<number | null | undefined> {
  const rows = await tx.$queryRaw<{ creditBalance: number | null }[]>`
    SELECT "creditBalance" FROM "Account" WHERE "id" = ${accountId}::uuid FOR UPDATE`;
  return rows[0] ? rows[0].creditBalance : undefined;
}

export class CreditsService {
  constructor(private readonly prisma: PrismaClient) {}

  // A run's charge is made by createRun's own statement (the function "atelier_create_run"
  // of the migration create_run_function): it locks the account like lockAccount does.

  /**
   * Gives a run's charge back, inside the caller's transaction (the one that marks the run
   * FAILED or CANCELED). At most once per run: a second call finds the refund row and does
   * nothing. Returns the credits refunded.
   */
  async refund(tx: Tx, runId: string): Promise<number> {
    const charge = await tx.creditTransaction.findUnique({
      where: { runId_reason: { runId, reason: 'RUN' } },
      select: { accountId: true, amount: true },
    });
    if (!charge || charge.amount === 0) return 0;
    const { count } = await tx.creditTransaction.createMany({
      data: [{ accountId: charge.accountId, runId, amount: -charge.amount, reason: 'REFUND' }],
      skipDuplicates: true,
    });
    if (count === 0) return 0;
    await tx.account.update({
      where: { id: charge.accountId },
      data: { creditBalance: { increment: -charge.amount } },
    });
    return -charge.amount;
  }

  /** Adds (or, negative, removes) credits by hand; the balance cannot go below zero. */
  async grant(accountId: string, amount: number, note: string | null): Promise<Account> {
    if (!Number.isInteger(amount) || amount === 0 || Math.abs(amount) > MAX_GRANT) {
      throw new ValidationError('amount', `must be a non-zero whole number up to ${MAX_GRANT}`);
    }
    return this.prisma.$transaction(async (tx) => {
      const balance = await lockAccount(tx, accountId);
      if (balance === undefined) throw new NotFoundError('Account', accountId);
      if (balance === null) {
        throw new ValidationError('account', 'The account has unlimited credits.');
      }
      if (balance + amount < 0) {
        throw new ValidationError('amount', `would take the balance (${balance}) below zero`);
      }
      if (balance + amount > 2_000_000_000) {
        throw new ValidationError('amount', 'would take the balance above 2,000,000,000');
      }
      await tx.creditTransaction.create({
        data: { accountId, amount, reason: 'GRANT', note: note?.slice(0, 500) || null },
      });
      return tx.account.update({
        where: { id: accountId },
        data: { creditBalance: { increment: amount } },
      });
    });
  }
}
