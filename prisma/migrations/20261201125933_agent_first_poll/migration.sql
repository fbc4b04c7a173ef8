-- AlterTable
ALTER TABLE "agents" ADD COLUMN     "first_polled_at" TIMESTAMPTZ(3);

-- Agents that have called in since enrolling count as polled (enrolling set last_seen_at too, so this may mark an
-- agent enrolled but never started, and only the enroll dialog's "waiting for its first poll" reads the column).
UPDATE "agents" SET "first_polled_at" = "last_seen_at" WHERE "last_seen_at" > "created_at" + interval '1 second';
