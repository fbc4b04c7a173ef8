import { dashboardSummary } from "../services/dashboard.ts";
import { router, tenantProcedure } from "../trpc.ts";

export const dashboardRouter = router({
  summary: tenantProcedure.query(({ ctx }) => dashboardSummary(ctx.db, ctx.tenantId)),
});
