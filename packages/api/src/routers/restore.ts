import { z } from "zod";
import { requireTenantJob } from "../services/jobs.ts";
import { previewRetention, retentionPreviewInputSchema } from "../services/retention-preview.ts";
import { restoreInputSchema, startRestore } from "../services/runs.ts";
import { router, tenantProcedure } from "../trpc.ts";

export const restoreRouter = router({
  start: tenantProcedure
    .input(restoreInputSchema)
    .mutation(({ ctx, input }) => startRestore(ctx.db, ctx.tenantId, input, ctx.user.id)),
});

export const snapshotsRouter = router({
  list: tenantProcedure
    .input(z.strictObject({ jobId: z.uuid(), includeForgotten: z.boolean().default(false) }))
    .query(async ({ ctx, input }) => {
      const job = await requireTenantJob(ctx.db, ctx.tenantId, input.jobId);
      return ctx.db.snapshot.findMany({
        where: { jobId: job.id, ...(input.includeForgotten ? {} : { forgottenAt: null }) },
        orderBy: { time: "desc" },
        take: 1000,
      });
    }),

  /** Which of the job's snapshots a retention policy keeps or deletes, and why (the engine's plan, nothing removed). */
  previewRetention: tenantProcedure
    .input(retentionPreviewInputSchema)
    .query(({ ctx, input }) => previewRetention(ctx.db, ctx.tenantId, input)),
});
