import type { Database, Prisma } from "@e3/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { pageOf, pageQuery } from "../services/pagination.ts";
import { cancelRun, requireTenantRun } from "../services/runs.ts";
import { router, tenantProcedure } from "../trpc.ts";

const runId = z.strictObject({ runId: z.uuid() });
const runStatus = z.enum(["queued", "starting", "running", "success", "warning", "failed", "cancelled"]);
const runType = z.enum(["backup", "restore", "maintenance_quick", "maintenance_full"]);

export const runsListInputSchema = z.strictObject({
  jobId: z.uuid().optional(),
  status: z.array(runStatus).max(7).optional(),
  runType: z.array(runType).max(4).optional(),
  from: z.date().optional(),
  to: z.date().optional(),
  limit: z.number().int().min(1).max(200).default(50),
  /** The id of the last run of the previous page. */
  cursor: z.uuid().nullish(),
  /** Sent by TanStack's infinite queries; pages only go forward. */
  direction: z.enum(["forward", "backward"]).optional(),
});

const finished = new Set(["success", "warning", "failed", "cancelled"]);

/** What the live view shows: the run (status, progress, stats) and its newest events. */
async function liveSnapshot(db: Database, runId: string) {
  const [run, events] = await Promise.all([
    db.run.findUniqueOrThrow({ where: { id: runId }, include: { job: { select: { name: true } } } }),
    db.runEvent.findMany({ where: { runId }, orderBy: { ts: "desc" }, take: 50 }),
  ]);
  return { run, events: events.reverse() };
}

export const runsRouter = router({
  list: tenantProcedure.input(runsListInputSchema).query(async ({ ctx, input }) => {
    const where: Prisma.RunWhereInput = {
      tenantId: ctx.tenantId,
      ...(input.jobId ? { jobId: input.jobId } : {}),
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
      include: { job: { select: { name: true } } },
    });
    const { items, nextCursor } = pageOf(runs, input.limit);
    return { runs: items, nextCursor };
  }),

  get: tenantProcedure.input(runId).query(async ({ ctx, input }) => {
    const run = await requireTenantRun(ctx.db, ctx.tenantId, input.runId);
    const job = await ctx.db.job.findUniqueOrThrow({ where: { id: run.jobId }, select: { name: true } });
    return { ...run, job };
  }),

  logs: tenantProcedure
    .input(
      z.strictObject({
        runId: z.uuid(),
        afterSeq: z.number().int().nullish(),
        levels: z
          .array(z.enum(["debug", "info", "warn", "error"]))
          .max(4)
          .optional(),
        search: z.string().max(200).optional(),
        limit: z.number().int().min(1).max(1000).default(500),
      }),
    )
    .query(async ({ ctx, input }) => {
      await requireTenantRun(ctx.db, ctx.tenantId, input.runId);
      const lines = await ctx.db.runLog.findMany({
        where: {
          runId: input.runId,
          ...(input.afterSeq !== undefined && input.afterSeq !== null ? { seq: { gt: input.afterSeq } } : {}),
          ...(input.levels ? { level: { in: input.levels } } : {}),
          ...(input.search ? { message: { contains: input.search, mode: "insensitive" as const } } : {}),
        },
        orderBy: { seq: "asc" },
        take: input.limit,
      });
      return { lines, lastSeq: lines.at(-1)?.seq ?? input.afterSeq ?? null };
    }),

  events: tenantProcedure
    .input(z.strictObject({ runId: z.uuid(), limit: z.number().int().min(1).max(1000).default(500) }))
    .query(async ({ ctx, input }) => {
      await requireTenantRun(ctx.db, ctx.tenantId, input.runId);
      return ctx.db.runEvent.findMany({ where: { runId: input.runId }, orderBy: { ts: "asc" }, take: input.limit });
    }),

  cancel: tenantProcedure
    .input(runId)
    .mutation(({ ctx, input }) => cancelRun(ctx.db, ctx.tenantId, input.runId, ctx.user.id)),

  /**
   * The live view's feed (server-sent events): the run and its newest events now and after every change, ending
   * when the run ends. A reconnecting client simply subscribes again and gets the current state first.
   */
  live: tenantProcedure.input(runId).subscription(async function* ({ ctx, input, signal }) {
    await requireTenantRun(ctx.db, ctx.tenantId, input.runId);
    if (!ctx.live) throw new TRPCError({ code: "PRECONDITION_FAILED", message: "live updates are not available here" });
    let lastVersion = "";
    for await (const _ of ctx.live.changes(input.runId, signal ?? new AbortController().signal)) {
      const snapshot = await liveSnapshot(ctx.db, input.runId);
      const version = `${snapshot.run.status}|${snapshot.run.updatedAt.getTime()}|${snapshot.events.at(-1)?.id ?? ""}`;
      if (version !== lastVersion) {
        lastVersion = version;
        yield snapshot;
      }
      if (finished.has(snapshot.run.status)) return;
    }
  }),
});
