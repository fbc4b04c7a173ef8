import { z } from "zod";
import { dashboardActivity, dashboardSummary, storageHistory } from "../services/dashboard.ts";
import { router, tenantProcedure } from "../trpc.ts";

export const dashboardRouter = router({
  summary: tenantProcedure.query(({ ctx }) => dashboardSummary(ctx.db, ctx.tenantId)),

  /** Problems, recent runs and the next scheduled runs, under the verdict. */
  activity: tenantProcedure.query(({ ctx }) => dashboardActivity(ctx.db, ctx.tenantId)),

  /** Storage used and dedup ratio per day. */
  storage: tenantProcedure
    .input(z.strictObject({ days: z.number().int().min(7).max(365).default(30) }).default({ days: 30 }))
    .query(({ ctx, input }) => storageHistory(ctx.db, ctx.tenantId, input.days)),
});
