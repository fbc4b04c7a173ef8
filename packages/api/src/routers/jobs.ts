import { z } from "zod";
import { nextSlots, scheduleSchema } from "../schedule.ts";
import { createJobInputSchema, updateJobInputSchema } from "../services/job-schemas.ts";
import { createJob, deleteJob, publicJob, requireTenantJob, updateJob } from "../services/jobs.ts";
import { takeRecoveryKey } from "../services/recovery-key.ts";
import { startRunNow } from "../services/runs.ts";
import { publicProcedure, router, tenantProcedure } from "../trpc.ts";

const jobId = z.strictObject({ jobId: z.uuid() });

export const jobsRouter = router({
  list: tenantProcedure.query(async ({ ctx }) => {
    const jobs = await ctx.db.job.findMany({
      where: { tenantId: ctx.tenantId, deletedAt: null },
      orderBy: { name: "asc" },
    });
    return jobs.map(publicJob);
  }),

  get: tenantProcedure
    .input(jobId)
    .query(async ({ ctx, input }) => publicJob(await requireTenantJob(ctx.db, ctx.tenantId, input.jobId))),

  create: tenantProcedure
    .input(createJobInputSchema)
    .mutation(({ ctx, input }) => createJob(ctx.db, ctx.keyring, ctx.tenantId, input)),

  /** encryption_mode=agent: the recovery passphrase the agent reported, returned once and then erased. */
  recoveryKey: tenantProcedure
    .input(jobId)
    .mutation(({ ctx, input }) => takeRecoveryKey(ctx.db, ctx.keyring, ctx.tenantId, input.jobId, ctx.user.id)),

  update: tenantProcedure
    .input(updateJobInputSchema)
    .mutation(({ ctx, input }) => updateJob(ctx.db, ctx.keyring, ctx.tenantId, input)),

  delete: tenantProcedure.input(jobId).mutation(({ ctx, input }) => deleteJob(ctx.db, ctx.tenantId, input.jobId)),

  runNow: tenantProcedure.input(jobId).mutation(async ({ ctx, input }) => {
    const { run, alreadyQueued } = await startRunNow(ctx.db, ctx.tenantId, input.jobId, ctx.user.id);
    return { runId: run.id, alreadyQueued };
  }),

  /** The wizard's schedule preview: the next slots of a schedule, computed exactly as the scheduler will. */
  previewSchedule: publicProcedure
    .input(z.strictObject({ schedule: scheduleSchema, count: z.number().int().min(1).max(20).default(5) }))
    .query(({ input }) => nextSlots(input.schedule, new Date(), input.count)),
});
