-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "adjustments" TEXT[] DEFAULT ARRAY[]::TEXT[];
