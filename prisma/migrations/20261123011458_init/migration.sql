-- CreateEnum
CREATE TYPE "GenerationMode" AS ENUM ('TEXT_TO_IMAGE', 'IMAGE_TO_IMAGE', 'EDIT', 'INPAINT', 'MULTI_REFERENCE', 'TEXT_TO_VIDEO', 'IMAGE_TO_VIDEO', 'TEXT_TO_AUDIO');

-- CreateEnum
CREATE TYPE "MediaKind" AS ENUM ('IMAGE', 'VIDEO', 'AUDIO');

-- CreateEnum
CREATE TYPE "MediaPurpose" AS ENUM ('SOURCE', 'MASK', 'REFERENCE', 'OUTPUT');

-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED');

-- CreateEnum
CREATE TYPE "StageKind" AS ENUM ('TRANSLATE', 'STYLE', 'OPTIMIZE', 'GENERATE');

-- CreateEnum
CREATE TYPE "StageStatus" AS ENUM ('PENDING', 'RUNNING', 'SUCCEEDED', 'SKIPPED', 'FAILED', 'CANCELED');

-- CreateEnum
CREATE TYPE "RunInputRole" AS ENUM ('SOURCE', 'MASK', 'REFERENCE');

-- CreateEnum
CREATE TYPE "OutputFormat" AS ENUM ('PNG', 'JPEG', 'WEBP');

-- CreateEnum
CREATE TYPE "OutputBackground" AS ENUM ('AUTO', 'OPAQUE', 'TRANSPARENT');

-- CreateTable
CREATE TABLE "Account" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "creditBalance" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Model" (
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "outputKind" "MediaKind" NOT NULL,
    "modes" "GenerationMode"[],
    "definition" JSONB NOT NULL,
    "hash" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "retiredAt" TIMESTAMP(3),

    CONSTRAINT "Model_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "Style" (
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "category" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "template" TEXT NOT NULL,
    "llmInstruction" TEXT,
    "hash" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "retiredAt" TIMESTAMP(3),

    CONSTRAINT "Style_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "Media" (
    "id" UUID NOT NULL,
    "ownerId" UUID NOT NULL,
    "kind" "MediaKind" NOT NULL,
    "purpose" "MediaPurpose" NOT NULL,
    "mimeType" TEXT NOT NULL,
    "width" INTEGER,
    "height" INTEGER,
    "durationMs" INTEGER,
    "bytes" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "dedupKey" TEXT,
    "hasAlpha" BOOLEAN NOT NULL DEFAULT false,
    "originalName" TEXT,
    "originalBytes" INTEGER,
    "originalWidth" INTEGER,
    "originalHeight" INTEGER,
    "storageKey" TEXT NOT NULL,
    "thumbnailKey" TEXT,
    "thumbnailMime" TEXT,
    "thumbnailBytes" INTEGER,
    "runId" UUID,
    "outputIndex" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Media_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Run" (
    "id" UUID NOT NULL,
    "ownerId" UUID NOT NULL,
    "mode" "GenerationMode" NOT NULL,
    "modelKey" TEXT NOT NULL,
    "styleKey" TEXT,
    "prompt" TEXT NOT NULL,
    "negativePrompt" TEXT,
    "effectivePrompt" TEXT,
    "effectiveNegativePrompt" TEXT,
    "parameters" JSONB NOT NULL,
    "seed" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 1,
    "outputFormat" "OutputFormat" NOT NULL DEFAULT 'PNG',
    "outputQuality" INTEGER,
    "outputBackground" "OutputBackground" NOT NULL DEFAULT 'AUTO',
    "priority" INTEGER NOT NULL DEFAULT 0,
    "idempotencyKey" TEXT,
    "skipStages" "StageKind"[],
    "status" "RunStatus" NOT NULL DEFAULT 'QUEUED',
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "sequence" INTEGER NOT NULL DEFAULT 0,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "attemptId" UUID,
    "workerUrl" TEXT,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "errorStage" "StageKind",
    "errorNodeId" TEXT,
    "errorNodeType" TEXT,
    "retryOfId" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RunInput" (
    "id" UUID NOT NULL,
    "runId" UUID NOT NULL,
    "mediaId" UUID NOT NULL,
    "role" "RunInputRole" NOT NULL,
    "index" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "RunInput_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Stage" (
    "id" UUID NOT NULL,
    "runId" UUID NOT NULL,
    "kind" "StageKind" NOT NULL,
    "position" INTEGER NOT NULL,
    "status" "StageStatus" NOT NULL DEFAULT 'PENDING',
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "message" TEXT,
    "input" TEXT,
    "output" TEXT,
    "nodeId" TEXT,
    "nodeType" TEXT,
    "step" INTEGER,
    "maxSteps" INTEGER,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Stage_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_hash_key" ON "ApiKey"("hash");

-- CreateIndex
CREATE INDEX "ApiKey_accountId_idx" ON "ApiKey"("accountId");

-- CreateIndex
CREATE UNIQUE INDEX "Media_dedupKey_key" ON "Media"("dedupKey");

-- CreateIndex
CREATE INDEX "Media_ownerId_createdAt_idx" ON "Media"("ownerId", "createdAt");

-- CreateIndex
CREATE INDEX "Media_ownerId_sha256_idx" ON "Media"("ownerId", "sha256");

-- CreateIndex
CREATE INDEX "Media_runId_idx" ON "Media"("runId");

-- CreateIndex
CREATE INDEX "Run_status_priority_createdAt_idx" ON "Run"("status", "priority", "createdAt");

-- CreateIndex
CREATE INDEX "Run_ownerId_createdAt_idx" ON "Run"("ownerId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Run_ownerId_idempotencyKey_key" ON "Run"("ownerId", "idempotencyKey");

-- CreateIndex
CREATE INDEX "RunInput_mediaId_idx" ON "RunInput"("mediaId");

-- CreateIndex
CREATE UNIQUE INDEX "RunInput_runId_role_index_key" ON "RunInput"("runId", "role", "index");

-- CreateIndex
CREATE UNIQUE INDEX "Stage_runId_kind_key" ON "Stage"("runId", "kind");

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Media" ADD CONSTRAINT "Media_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Media" ADD CONSTRAINT "Media_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_modelKey_fkey" FOREIGN KEY ("modelKey") REFERENCES "Model"("key") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_styleKey_fkey" FOREIGN KEY ("styleKey") REFERENCES "Style"("key") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_retryOfId_fkey" FOREIGN KEY ("retryOfId") REFERENCES "Run"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunInput" ADD CONSTRAINT "RunInput_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunInput" ADD CONSTRAINT "RunInput_mediaId_fkey" FOREIGN KEY ("mediaId") REFERENCES "Media"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Stage" ADD CONSTRAINT "Stage_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;
