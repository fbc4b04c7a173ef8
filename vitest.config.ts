import { defineConfig } from "vitest/config";

// One runner for the whole repository. Unit tests sit beside the code (src/**/*.test.ts), integration suites in each
// package's test/ folder, service smoke tests in test/. Real services come from scripts/services.sh (see README).
export default defineConfig({
  test: {
    include: [
      "{apps,packages}/*/{src,test}/**/*.test.ts",
      "apps/web/{lib,components}/**/*.test.{ts,tsx}",
      "test/**/*.test.ts",
    ],
    exclude: ["**/node_modules/**", "**/.next/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default", "./scripts/summary-reporter.ts"],
    pool: "forks",
  },
});
