-- AlterTable
ALTER TABLE "tenants" ADD COLUMN     "disabled_at" TIMESTAMPTZ(3);
