import { z } from "zod";
import { requireTenantJob } from "../services/jobs.ts";
import { browseInputSchema, requestBrowse, startMaintenance } from "../services/runs.ts";
import { notFound, router, tenantProcedure } from "../trpc.ts";

export const commandsRouter = router({
  maintenance: tenantProcedure
    .input(z.strictObject({ jobId: z.uuid(), kind: z.enum(["maintenance_quick", "maintenance_full"]) }))
    .mutation(async ({ ctx, input }) =>
      startMaintenance(ctx.db, await requireTenantJob(ctx.db, ctx.tenantId, input.jobId), input.kind, ctx.user.id),
    ),

  browse: tenantProcedure
    .input(browseInputSchema)
    .mutation(({ ctx, input }) => requestBrowse(ctx.db, ctx.tenantId, input, ctx.user.id)),

  /** A command's state and result, polled by the portal while waiting for an agent's answer (browse). */
  get: tenantProcedure.input(z.strictObject({ commandId: z.uuid() })).query(async ({ ctx, input }) => {
    const command = await ctx.db.runCommand.findFirst({
      where: { id: input.commandId, tenantId: ctx.tenantId },
      select: {
        id: true,
        type: true,
        status: true,
        resultJson: true,
        errorMessage: true,
        runId: true,
        createdAt: true,
        completedAt: true,
      },
    });
    if (!command) throw notFound("command");
    return command;
  }),
});
