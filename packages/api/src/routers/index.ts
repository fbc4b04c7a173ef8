import { router } from "../trpc.ts";
import { adminRouter } from "./admin.ts";
import { agentsRouter } from "./agents.ts";
import { commandsRouter } from "./commands.ts";
import { dashboardRouter } from "./dashboard.ts";
import { destinationsRouter } from "./destinations.ts";
import { jobsRouter } from "./jobs.ts";
import { restoreRouter, snapshotsRouter } from "./restore.ts";
import { runsRouter } from "./runs.ts";
import { settingsRouter } from "./settings.ts";

export const appRouter = router({
  agents: agentsRouter,
  jobs: jobsRouter,
  runs: runsRouter,
  restore: restoreRouter,
  snapshots: snapshotsRouter,
  commands: commandsRouter,
  settings: settingsRouter,
  dashboard: dashboardRouter,
  destinations: destinationsRouter,
  admin: adminRouter,
});

export type AppRouter = typeof appRouter;
