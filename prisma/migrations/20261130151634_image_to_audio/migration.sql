-- AlterEnum
ALTER TYPE "GenerationMode" ADD VALUE 'IMAGE_TO_AUDIO';

-- AlterEnum
ALTER TYPE "StageKind" ADD VALUE 'DESCRIBE';
