-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "errorDetail" TEXT,
ADD COLUMN     "errorExceptionType" TEXT;
