import { z } from "zod";
import { nextSlots, scheduleSchema } from "../schedule.ts";
import { createJobInputSchema, updateJobInputSchema } from "../services/job-schemas.ts";
import { createJob, deleteJob, pauseJob, publicJob, requireTenantJob, resumeJob, updateJob } from "../services/jobs.ts";
import { listRecoveryKeys, takeRecoveryKey } from "../services/recovery-key.ts";
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

  /** Which agent-held jobs have a recovery passphrase waiting for its one download (never the passphrase). */
  recoveryKeys: tenantProcedure.query(({ ctx }) => listRecoveryKeys(ctx.db, ctx.tenantId)),

  update: tenantProcedure
    .input(updateJobInputSchema)
    .mutation(({ ctx, input }) => updateJob(ctx.db, ctx.keyring, ctx.tenantId, input)),

  delete: tenantProcedure.input(jobId).mutation(({ ctx, input }) => deleteJob(ctx.db, ctx.tenantId, input.jobId)),

  /** Pause the job's schedule until resumed, or until `until` (at most a year ahead). */
  pause: tenantProcedure
    .input(
      jobId.extend({
        until: z.coerce
          .date({ error: "must be a date and time" })
          .refine((date) => date.getTime() <= Date.now() + 366 * 86_400_000, "must be within a year")
          .nullable()
          .default(null),
      }),
    )
    .mutation(({ ctx, input }) => pauseJob(ctx.db, ctx.tenantId, input.jobId, ctx.user.id, input.until)),

  resume: tenantProcedure
    .input(jobId)
    .mutation(({ ctx, input }) => resumeJob(ctx.db, ctx.tenantId, input.jobId, ctx.user.id)),

  runNow: tenantProcedure.input(jobId).mutation(async ({ ctx, input }) => {
    const { run, alreadyQueued } = await startRunNow(ctx.db, ctx.tenantId, input.jobId, ctx.user.id);
    return { runId: run.id, alreadyQueued };
  }),

  /** The wizard's schedule preview: the next slots of a schedule, computed exactly as the scheduler will. */
  previewSchedule: publicProcedure
    .input(z.strictObject({ schedule: scheduleSchema, count: z.number().int().min(1).max(20).default(5) }))
    .query(({ input }) => nextSlots(input.schedule, new Date(), input.count)),
});
