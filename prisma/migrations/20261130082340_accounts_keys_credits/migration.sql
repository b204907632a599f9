-- CreateEnum
CREATE TYPE "CreditReason" AS ENUM ('GRANT', 'RUN', 'REFUND');

-- AlterTable
ALTER TABLE "Account" ALTER COLUMN "creditBalance" DROP NOT NULL;

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "scopes" TEXT[];

-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "cost" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "CreditTransaction" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "runId" UUID,
    "amount" INTEGER NOT NULL,
    "reason" "CreditReason" NOT NULL,
    "note" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CreditTransaction_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "CreditTransaction_accountId_createdAt_idx" ON "CreditTransaction"("accountId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "CreditTransaction_runId_reason_key" ON "CreditTransaction"("runId", "reason");

-- CreateIndex
CREATE UNIQUE INDEX "Account_name_key" ON "Account"("name");

-- CreateIndex
CREATE INDEX "ApiKey_prefix_idx" ON "ApiKey"("prefix");

-- CreateIndex
CREATE INDEX "Run_ownerId_status_idx" ON "Run"("ownerId", "status");

-- AddForeignKey
ALTER TABLE "CreditTransaction" ADD CONSTRAINT "CreditTransaction_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CreditTransaction" ADD CONSTRAINT "CreditTransaction_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE SET NULL ON UPDATE CASCADE;
