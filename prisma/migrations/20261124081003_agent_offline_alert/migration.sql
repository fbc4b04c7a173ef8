-- AlterTable
ALTER TABLE "agents" ADD COLUMN     "offline_since" TIMESTAMPTZ(3);
