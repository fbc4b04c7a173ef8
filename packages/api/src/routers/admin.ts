import { z } from "zod";
import { publicAgent } from "../services/agents.ts";
import { dashboardSummary } from "../services/dashboard.ts";
import { publicJob } from "../services/jobs.ts";
import { pageOf, pageQuery } from "../services/pagination.ts";
import { startMaintenance } from "../services/runs.ts";
import { readSetting, settingSchemas, writeSetting } from "../services/settings.ts";
import { adminProcedure, notFound, router } from "../trpc.ts";

const page = { limit: z.number().int().min(1).max(200).default(50), cursor: z.uuid().nullish() };

export const adminRouter = router({
  fleet: adminProcedure.query(({ ctx }) => dashboardSummary(ctx.db, null)),

  tenants: adminProcedure.query(({ ctx }) =>
    ctx.db.tenant.findMany({
      orderBy: { name: "asc" },
      include: { _count: { select: { agents: true, jobs: true, users: true } } },
    }),
  ),

  createTenant: adminProcedure
    .input(z.strictObject({ name: z.string().trim().min(1).max(200), slug: z.string().regex(/^[a-z0-9-]{2,60}$/) }))
    .mutation(async ({ ctx, input }) => {
      const tenant = await ctx.db.tenant.create({ data: input });
      await ctx.db.auditLog.create({
        data: {
          tenantId: tenant.id,
          actorUserId: ctx.user.id,
          action: "tenant.create",
          targetType: "tenant",
          targetId: tenant.id,
        },
      });
      return tenant;
    }),

  agents: adminProcedure.input(z.strictObject({ tenantId: z.uuid().optional() })).query(async ({ ctx, input }) => {
    const agents = await ctx.db.agent.findMany({
      where: input.tenantId ? { tenantId: input.tenantId } : {},
      orderBy: { name: "asc" },
      take: 1000,
    });
    return agents.map((agent) => publicAgent(agent));
  }),

  jobs: adminProcedure.input(z.strictObject({ tenantId: z.uuid().optional() })).query(async ({ ctx, input }) => {
    const jobs = await ctx.db.job.findMany({
      where: { deletedAt: null, ...(input.tenantId ? { tenantId: input.tenantId } : {}) },
      orderBy: { name: "asc" },
      take: 1000,
    });
    return jobs.map(publicJob);
  }),

  runs: adminProcedure
    .input(z.strictObject({ tenantId: z.uuid().optional(), ...page }))
    .query(async ({ ctx, input }) => {
      const runs = await ctx.db.run.findMany({
        where: input.tenantId ? { tenantId: input.tenantId } : {},
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        ...pageQuery(input.limit, input.cursor),
        include: { job: { select: { name: true } } },
      });
      const { items, nextCursor } = pageOf(runs, input.limit);
      return { runs: items, nextCursor };
    }),

  maintenance: adminProcedure
    .input(z.strictObject({ jobId: z.uuid(), kind: z.enum(["maintenance_quick", "maintenance_full"]) }))
    .mutation(async ({ ctx, input }) => {
      const job = await ctx.db.job.findFirst({ where: { id: input.jobId, deletedAt: null } });
      if (!job) throw notFound("job");
      return startMaintenance(ctx.db, job, input.kind, ctx.user.id);
    }),

  settings: adminProcedure.query(async ({ ctx }) => ({
    agent_s3_endpoint: await readSetting(ctx.db, "agent_s3_endpoint"),
    agent_s3_region: await readSetting(ctx.db, "agent_s3_region"),
    watchdogTimeoutSeconds: ctx.config.AGENT_WATCHDOG_TIMEOUT_SECONDS,
    reclaimGraceSeconds: ctx.config.AGENT_RECLAIM_GRACE_SECONDS,
  })),

  updateSettings: adminProcedure
    .input(
      z.strictObject({
        agent_s3_endpoint: settingSchemas.agent_s3_endpoint.optional(),
        agent_s3_region: settingSchemas.agent_s3_region.optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      if (input.agent_s3_endpoint) await writeSetting(ctx.db, "agent_s3_endpoint", input.agent_s3_endpoint);
      if (input.agent_s3_region) await writeSetting(ctx.db, "agent_s3_region", input.agent_s3_region);
      await ctx.db.auditLog.create({
        data: { actorUserId: ctx.user.id, action: "settings.update", detailJson: input },
      });
      return { updated: true };
    }),

  auditLog: adminProcedure
    .input(z.strictObject({ tenantId: z.uuid().optional(), ...page }))
    .query(async ({ ctx, input }) => {
      const entries = await ctx.db.auditLog.findMany({
        where: input.tenantId ? { tenantId: input.tenantId } : {},
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        ...pageQuery(input.limit, input.cursor),
      });
      const { items, nextCursor } = pageOf(entries, input.limit);
      return { entries: items, nextCursor };
    }),
});
