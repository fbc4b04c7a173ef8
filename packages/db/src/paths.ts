import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, found from this file's place in packages/db/src. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const schemaPath = join(repoRoot, "prisma", "schema.prisma");
export const migrationsDir = join(repoRoot, "prisma", "migrations");
/** Git-ignored folder for the embedded database and other local state of `npm start`. */
export const defaultDataDir = join(repoRoot, ".data");
