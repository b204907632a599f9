-- DropIndex
DROP INDEX "Run_status_priority_createdAt_idx";

-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "queueRank" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "WorkerProcess" (
    "id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "role" TEXT NOT NULL,
    "comfyui" JSONB NOT NULL,
    "capabilities" TEXT[],
    "startedAt" TIMESTAMP(3) NOT NULL,
    "heartbeatAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "WorkerProcess_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "WorkerProcess_heartbeatAt_idx" ON "WorkerProcess"("heartbeatAt");

-- CreateIndex
CREATE INDEX "Run_status_priority_queueRank_createdAt_idx" ON "Run"("status", "priority", "queueRank", "createdAt");
