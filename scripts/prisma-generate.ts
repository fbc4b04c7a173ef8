import { spawnSync } from "node:child_process";
import { join } from "node:path";

// `prisma generate` needs no schema engine, but Prisma's CLI tries to download one first, which cannot work offline:
// pointing PRISMA_SCHEMA_ENGINE_BINARY at a stub stops the download. Migrations use packages/db's own runner.
const root = join(import.meta.dirname, "..");
const result = spawnSync(join(root, "node_modules", ".bin", "prisma"), ["generate"], {
  cwd: root,
  stdio: "inherit",
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: join(root, "scripts", "prisma-schema-engine-stub.sh"),
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
  },
});
process.exit(result.status ?? 1);
