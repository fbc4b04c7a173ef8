import { createUserWithPassword, generatePassword, type Prisma, setUserPassword } from "@e3/db";
import { TRPCError } from "@trpc/server";
import { ZodRealError, z } from "zod";
import { agentTimings, writeAgentTimings } from "../services/agent-timings.ts";
import { publicAgent } from "../services/agents.ts";
import { dashboardSummary } from "../services/dashboard.ts";
import { publicJob } from "../services/jobs.ts";
import { pageOf, pageQuery } from "../services/pagination.ts";
import { startMaintenance } from "../services/runs.ts";
import { readSetting, settingSchemas, writeSetting } from "../services/settings.ts";
import { adminProcedure, notFound, router } from "../trpc.ts";
import { runsListInputSchema } from "./runs.ts";

// The provider's side: every tenant at once. Admin procedures read across tenants; every change is audited.

const page = { limit: z.number().int().min(1).max(200).default(50), cursor: z.uuid().nullish() };

/** A form error on one field, as the error formatter turns it into `fieldErrors` (ZodRealError: a real Error, so tRPC keeps it as the cause). */
function fieldError(code: "BAD_REQUEST" | "CONFLICT", path: string, message: string): TRPCError {
  return new TRPCError({
    code,
    message,
    cause: new ZodRealError([{ code: "custom", path: [path], message, input: null }]),
  });
}

const userColumns = {
  id: true,
  email: true,
  name: true,
  role: true,
  tenantId: true,
  banned: true,
  twoFactorEnabled: true,
  createdAt: true,
  tenant: { select: { name: true } },
} as const;

export const agentTimingsInputSchema = z
  .strictObject({
    watchdogTimeoutSeconds: z
      .number({ error: "must be a whole number of seconds" })
      .int("must be a whole number of seconds")
      .min(60, "must be at least 60 seconds (agents heartbeat every 30 s)")
      .max(86_400, "must be at most a day"),
    reclaimGraceSeconds: z
      .number({ error: "must be a whole number of seconds" })
      .int("must be a whole number of seconds")
      .min(30, "must be at least 30 seconds (agents heartbeat every 30 s)")
      .max(86_400, "must be at most a day"),
  })
  .refine((value) => value.reclaimGraceSeconds < value.watchdogTimeoutSeconds, {
    path: ["reclaimGraceSeconds"],
    message: "must be less than the watchdog timeout, or the watchdog fails runs their agents could still reclaim",
  });

export const createUserInputSchema = z
  .strictObject({
    email: z.email("must be an email address").max(320),
    name: z.string().trim().min(1, "is required").max(200),
    role: z.enum(["admin", "client"]),
    tenantId: z.uuid().nullish(),
    /** Omitted: a random password is generated and returned once. */
    password: z.string().min(10, "must be at least 10 characters").max(200).optional(),
  })
  .refine((value) => value.role === "admin" || value.tenantId, {
    path: ["tenantId"],
    message: "a client user belongs to a tenant; pick one",
  })
  .refine((value) => value.role === "client" || !value.tenantId, {
    path: ["tenantId"],
    message: "provider admins belong to no tenant",
  });

export const adminRouter = router({
  fleet: adminProcedure.query(({ ctx }) => dashboardSummary(ctx.db, null)),

  tenants: adminProcedure.query(({ ctx }) =>
    ctx.db.tenant.findMany({
      orderBy: { name: "asc" },
      include: { _count: { select: { agents: true, jobs: true, users: true } } },
    }),
  ),

  /** One tenant drilled into: its verdict, agents, jobs and users. */
  tenant: adminProcedure.input(z.strictObject({ tenantId: z.uuid() })).query(async ({ ctx, input }) => {
    const tenant = await ctx.db.tenant.findUnique({ where: { id: input.tenantId } });
    if (!tenant) throw notFound("tenant");
    const [summary, agents, users] = await Promise.all([
      dashboardSummary(ctx.db, tenant.id),
      ctx.db.agent.findMany({ where: { tenantId: tenant.id }, orderBy: { name: "asc" }, take: 1000 }),
      ctx.db.user.findMany({ where: { tenantId: tenant.id }, orderBy: { email: "asc" }, select: userColumns }),
    ]);
    return { tenant, summary, agents: agents.map((agent) => publicAgent(agent)), users };
  }),

  createTenant: adminProcedure
    .input(
      z.strictObject({
        name: z.string().trim().min(1, "is required").max(200),
        slug: z.string().regex(/^[a-z0-9-]{2,60}$/, "2–60 lower-case letters, digits and dashes"),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      if (await ctx.db.tenant.findUnique({ where: { slug: input.slug } })) {
        throw fieldError("CONFLICT", "slug", "another tenant already uses this slug");
      }
      const tenant = await ctx.db.tenant.create({ data: input });
      await ctx.db.auditLog.create({
        data: {
          tenantId: tenant.id,
          actorUserId: ctx.user.id,
          action: "tenant.create",
          targetType: "tenant",
          targetId: tenant.id,
          ipAddress: ctx.ip,
        },
      });
      return tenant;
    }),

  /** Disabling signs the tenant's users out, refuses their sign-ins and stops scheduling its jobs. */
  setTenantDisabled: adminProcedure
    .input(z.strictObject({ tenantId: z.uuid(), disabled: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      const tenant = await ctx.db.tenant.findUnique({ where: { id: input.tenantId } });
      if (!tenant) throw notFound("tenant");
      return ctx.db.$transaction(async (tx) => {
        const updated = await tx.tenant.update({
          where: { id: tenant.id },
          data: { disabledAt: input.disabled ? (tenant.disabledAt ?? new Date()) : null },
        });
        const signedOut = input.disabled
          ? (await tx.session.deleteMany({ where: { user: { tenantId: tenant.id } } })).count
          : 0;
        await tx.auditLog.create({
          data: {
            tenantId: tenant.id,
            actorUserId: ctx.user.id,
            action: input.disabled ? "tenant.disable" : "tenant.enable",
            targetType: "tenant",
            targetId: tenant.id,
            ipAddress: ctx.ip,
            detailJson: { sessionsEnded: signedOut },
          },
        });
        return { tenant: updated, sessionsEnded: signedOut };
      });
    }),

  users: adminProcedure
    .input(
      z.strictObject({
        tenantId: z.uuid().optional(),
        search: z.string().trim().max(200).optional(),
        limit: page.limit,
        cursor: z.string().max(100).nullish(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const where: Prisma.UserWhereInput = {
        ...(input.tenantId ? { tenantId: input.tenantId } : {}),
        ...(input.search
          ? {
              OR: [
                { email: { contains: input.search, mode: "insensitive" } },
                { name: { contains: input.search, mode: "insensitive" } },
              ],
            }
          : {}),
      };
      const users = await ctx.db.user.findMany({
        where,
        orderBy: [{ email: "asc" }, { id: "asc" }],
        select: userColumns,
        ...pageQuery(input.limit, input.cursor),
      });
      const { items, nextCursor } = pageOf(users, input.limit);
      return { users: items, nextCursor };
    }),

  createUser: adminProcedure.input(createUserInputSchema).mutation(async ({ ctx, input }) => {
    const email = input.email.toLowerCase();
    if (await ctx.db.user.findUnique({ where: { email } })) {
      throw fieldError("CONFLICT", "email", "an account with this email exists already");
    }
    if (input.tenantId && !(await ctx.db.tenant.findUnique({ where: { id: input.tenantId } }))) {
      throw notFound("tenant");
    }
    const password = input.password ?? generatePassword();
    const user = await ctx.db.$transaction(async (tx) => {
      const created = await createUserWithPassword(tx, {
        email,
        name: input.name,
        role: input.role,
        tenantId: input.role === "client" ? (input.tenantId ?? null) : null,
        password,
      });
      await tx.auditLog.create({
        data: {
          tenantId: input.role === "client" ? (input.tenantId ?? null) : null,
          actorUserId: ctx.user.id,
          action: "user.create",
          targetType: "user",
          targetId: created.id,
          ipAddress: ctx.ip,
          detailJson: { email, role: input.role },
        },
      });
      return created;
    });
    // The generated password is returned once, for the admin to hand over; it is stored only hashed.
    return { userId: user.id, password: input.password ? null : password };
  }),

  /** Sets a new password (generated unless given) and ends the user's sessions. */
  setUserPassword: adminProcedure
    .input(
      z.strictObject({
        userId: z.string().min(1).max(100),
        password: z.string().min(10, "must be at least 10 characters").max(200).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const user = await ctx.db.user.findUnique({ where: { id: input.userId } });
      if (!user) throw notFound("user");
      const password = input.password ?? generatePassword();
      await ctx.db.$transaction(async (tx) => {
        await setUserPassword(tx, user.id, password);
        await tx.session.deleteMany({ where: { userId: user.id } });
        await tx.auditLog.create({
          data: {
            tenantId: user.tenantId,
            actorUserId: ctx.user.id,
            action: "user.password_reset",
            targetType: "user",
            targetId: user.id,
            ipAddress: ctx.ip,
            detailJson: { email: user.email },
          },
        });
      });
      return { password: input.password ? null : password };
    }),

  setUserDisabled: adminProcedure
    .input(z.strictObject({ userId: z.string().min(1).max(100), disabled: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      const user = await ctx.db.user.findUnique({ where: { id: input.userId } });
      if (!user) throw notFound("user");
      if (user.id === ctx.user.id && input.disabled) {
        throw new TRPCError({ code: "BAD_REQUEST", message: "you cannot disable your own account" });
      }
      await ctx.db.$transaction(async (tx) => {
        await tx.user.update({
          where: { id: user.id },
          data: input.disabled
            ? { banned: true, banReason: "disabled by a provider admin" }
            : { banned: false, banReason: null, banExpires: null },
        });
        if (input.disabled) await tx.session.deleteMany({ where: { userId: user.id } });
        await tx.auditLog.create({
          data: {
            tenantId: user.tenantId,
            actorUserId: ctx.user.id,
            action: input.disabled ? "user.disable" : "user.enable",
            targetType: "user",
            targetId: user.id,
            ipAddress: ctx.ip,
            detailJson: { email: user.email },
          },
        });
      });
      return { disabled: input.disabled };
    }),

  agents: adminProcedure.input(z.strictObject({ tenantId: z.uuid().optional() })).query(async ({ ctx, input }) => {
    const agents = await ctx.db.agent.findMany({
      where: input.tenantId ? { tenantId: input.tenantId } : {},
      orderBy: { name: "asc" },
      take: 1000,
      include: { tenant: { select: { name: true } } },
    });
    return agents.map((agent) => ({ ...publicAgent(agent), tenantName: agent.tenant.name }));
  }),

  /** One agent drilled into: its jobs and recent runs. */
  agent: adminProcedure.input(z.strictObject({ agentId: z.uuid() })).query(async ({ ctx, input }) => {
    const agent = await ctx.db.agent.findUnique({
      where: { id: input.agentId },
      include: { tenant: { select: { id: true, name: true } } },
    });
    if (!agent) throw notFound("agent");
    const [jobs, runs] = await Promise.all([
      ctx.db.job.findMany({ where: { agentId: agent.id, deletedAt: null }, orderBy: { name: "asc" } }),
      ctx.db.run.findMany({
        where: { agentId: agent.id },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: 20,
        include: { job: { select: { name: true } } },
      }),
    ]);
    return { agent: { ...publicAgent(agent), tenant: agent.tenant }, jobs: jobs.map(publicJob), runs };
  }),

  jobs: adminProcedure
    .input(
      z.strictObject({
        tenantId: z.uuid().optional(),
        agentId: z.uuid().optional(),
        engine: z.enum(["backup", "sync"]).optional(),
        search: z.string().trim().max(200).optional(),
        ...page,
      }),
    )
    .query(async ({ ctx, input }) => {
      const jobs = await ctx.db.job.findMany({
        where: {
          deletedAt: null,
          ...(input.tenantId ? { tenantId: input.tenantId } : {}),
          ...(input.agentId ? { agentId: input.agentId } : {}),
          ...(input.engine ? { engine: input.engine } : {}),
          ...(input.search ? { name: { contains: input.search, mode: "insensitive" } } : {}),
        },
        orderBy: [{ name: "asc" }, { id: "asc" }],
        ...pageQuery(input.limit, input.cursor),
        include: { tenant: { select: { name: true } }, agent: { select: { name: true } } },
      });
      const { items, nextCursor } = pageOf(jobs, input.limit);
      return {
        jobs: items.map(({ tenant, agent, ...job }) => ({
          ...publicJob(job),
          tenantName: tenant.name,
          agentName: agent.name,
        })),
        nextCursor,
      };
    }),

  /** One job: its settings, recent runs and the commands sent for it (maintenance, restore, cancel). */
  job: adminProcedure.input(z.strictObject({ jobId: z.uuid() })).query(async ({ ctx, input }) => {
    const job = await ctx.db.job.findFirst({
      where: { id: input.jobId, deletedAt: null },
      include: { tenant: { select: { id: true, name: true } }, agent: { select: { id: true, name: true } } },
    });
    if (!job) throw notFound("job");
    const [runs, commands] = await Promise.all([
      ctx.db.run.findMany({ where: { jobId: job.id }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: 25 }),
      ctx.db.runCommand.findMany({ where: { jobId: job.id }, orderBy: { createdAt: "desc" }, take: 25 }),
    ]);
    const { tenant, agent, ...rest } = job;
    return { job: { ...publicJob(rest), tenant, agent }, runs, commands };
  }),

  runs: adminProcedure
    .input(
      runsListInputSchema.extend({
        tenantId: z.uuid().optional(),
        agentId: z.uuid().optional(),
        engine: z.enum(["backup", "sync"]).optional(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const where: Prisma.RunWhereInput = {
        ...(input.tenantId ? { tenantId: input.tenantId } : {}),
        ...(input.agentId ? { agentId: input.agentId } : {}),
        ...(input.jobId ? { jobId: input.jobId } : {}),
        ...(input.engine ? { engine: input.engine } : {}),
        ...(input.status ? { status: { in: input.status } } : {}),
        ...(input.runType ? { runType: { in: input.runType } } : {}),
        ...(input.from || input.to
          ? { createdAt: { ...(input.from ? { gte: input.from } : {}), ...(input.to ? { lt: input.to } : {}) } }
          : {}),
      };
      const runs = await ctx.db.run.findMany({
        where,
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        ...pageQuery(input.limit, input.cursor),
        include: {
          job: { select: { name: true } },
          tenant: { select: { name: true } },
          agent: { select: { name: true } },
        },
      });
      const { items, nextCursor } = pageOf(runs, input.limit);
      return { runs: items, nextCursor };
    }),

  /** One run of any tenant: the run, its commands, events and the newest log lines. */
  run: adminProcedure.input(z.strictObject({ runId: z.uuid() })).query(async ({ ctx, input }) => {
    const run = await ctx.db.run.findUnique({
      where: { id: input.runId },
      include: {
        job: { select: { id: true, name: true } },
        tenant: { select: { id: true, name: true } },
        agent: { select: { id: true, name: true } },
      },
    });
    if (!run) throw notFound("run");
    const [commands, events, logs] = await Promise.all([
      ctx.db.runCommand.findMany({ where: { runId: run.id }, orderBy: { createdAt: "asc" } }),
      ctx.db.runEvent.findMany({ where: { runId: run.id }, orderBy: { seq: "asc" }, take: 500 }),
      ctx.db.runLog.findMany({ where: { runId: run.id }, orderBy: { seq: "desc" }, take: 200 }),
    ]);
    return { run, commands, events, logs: logs.reverse() };
  }),

  maintenance: adminProcedure
    .input(z.strictObject({ jobId: z.uuid(), kind: z.enum(["maintenance_quick", "maintenance_full"]) }))
    .mutation(async ({ ctx, input }) => {
      const job = await ctx.db.job.findFirst({ where: { id: input.jobId, deletedAt: null } });
      if (!job) throw notFound("job");
      return startMaintenance(ctx.db, job, input.kind, ctx.user.id);
    }),

  settings: adminProcedure.query(async ({ ctx }) => {
    const effective = await agentTimings(ctx.db, ctx.config);
    return {
      agent_s3_endpoint: await readSetting(ctx.db, "agent_s3_endpoint"),
      agent_s3_region: await readSetting(ctx.db, "agent_s3_region"),
      watchdogTimeoutSeconds: effective.AGENT_WATCHDOG_TIMEOUT_SECONDS,
      reclaimGraceSeconds: effective.AGENT_RECLAIM_GRACE_SECONDS,
      /** What the environment says; the values above differ when an admin overrode them here. */
      defaults: {
        watchdogTimeoutSeconds: ctx.config.AGENT_WATCHDOG_TIMEOUT_SECONDS,
        reclaimGraceSeconds: ctx.config.AGENT_RECLAIM_GRACE_SECONDS,
      },
    };
  }),

  updateSettings: adminProcedure
    .input(
      z.strictObject({
        agent_s3_endpoint: settingSchemas.agent_s3_endpoint.optional(),
        agent_s3_region: settingSchemas.agent_s3_region.optional(),
        agentTimings: agentTimingsInputSchema.optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      if (input.agent_s3_endpoint) await writeSetting(ctx.db, "agent_s3_endpoint", input.agent_s3_endpoint);
      if (input.agent_s3_region) await writeSetting(ctx.db, "agent_s3_region", input.agent_s3_region);
      if (input.agentTimings) {
        await writeAgentTimings(ctx.db, {
          AGENT_WATCHDOG_TIMEOUT_SECONDS: input.agentTimings.watchdogTimeoutSeconds,
          AGENT_RECLAIM_GRACE_SECONDS: input.agentTimings.reclaimGraceSeconds,
        });
      }
      await ctx.db.auditLog.create({
        data: { actorUserId: ctx.user.id, action: "settings.update", detailJson: input, ipAddress: ctx.ip },
      });
      return { updated: true };
    }),

  auditLog: adminProcedure
    .input(
      z.strictObject({
        tenantId: z.uuid().optional(),
        /** An exact action ("user.impersonate") or a prefix ending in a dot ("user."). */
        action: z.string().trim().max(100).optional(),
        actorUserId: z.string().max(100).optional(),
        from: z.date().optional(),
        to: z.date().optional(),
        ...page,
      }),
    )
    .query(async ({ ctx, input }) => {
      const entries = await ctx.db.auditLog.findMany({
        where: {
          ...(input.tenantId ? { tenantId: input.tenantId } : {}),
          ...(input.action ? { action: input.action.endsWith(".") ? { startsWith: input.action } : input.action } : {}),
          ...(input.actorUserId ? { actorUserId: input.actorUserId } : {}),
          ...(input.from || input.to
            ? { createdAt: { ...(input.from ? { gte: input.from } : {}), ...(input.to ? { lt: input.to } : {}) } }
            : {}),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        ...pageQuery(input.limit, input.cursor),
        include: { tenant: { select: { name: true } } },
      });
      const { items, nextCursor } = pageOf(entries, input.limit);
      // Actors are users (no foreign key: an audit entry outlives its actor); one lookup for the page.
      const actorIds = [...new Set(items.map((entry) => entry.actorUserId).filter((id): id is string => !!id))];
      const actors = await ctx.db.user.findMany({ where: { id: { in: actorIds } }, select: { id: true, email: true } });
      const emailOf = new Map(actors.map((actor) => [actor.id, actor.email]));
      return {
        entries: items.map((entry) => ({
          ...entry,
          actorEmail: entry.actorUserId ? (emailOf.get(entry.actorUserId) ?? null) : null,
        })),
        nextCursor,
      };
    }),
});
