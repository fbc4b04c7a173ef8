import { z } from "zod";
import { createEnrollmentToken, publicAgent } from "../services/agents.ts";
import { notFound, router, tenantProcedure } from "../trpc.ts";

const agentId = z.strictObject({ agentId: z.uuid() });

export const agentsRouter = router({
  list: tenantProcedure.query(async ({ ctx }) => {
    const agents = await ctx.db.agent.findMany({ where: { tenantId: ctx.tenantId }, orderBy: { name: "asc" } });
    const now = new Date();
    return agents.map((agent) => publicAgent(agent, now));
  }),

  get: tenantProcedure.input(agentId).query(async ({ ctx, input }) => {
    const agent = await ctx.db.agent.findFirst({ where: { id: input.agentId, tenantId: ctx.tenantId } });
    if (!agent) throw notFound("agent");
    return publicAgent(agent);
  }),

  rename: tenantProcedure
    .input(z.strictObject({ agentId: z.uuid(), name: z.string().trim().min(1).max(255) }))
    .mutation(async ({ ctx, input }) => {
      const { count } = await ctx.db.agent.updateMany({
        where: { id: input.agentId, tenantId: ctx.tenantId },
        data: { name: input.name },
      });
      if (count === 0) throw notFound("agent");
      return { renamed: true };
    }),

  revoke: tenantProcedure.input(agentId).mutation(async ({ ctx, input }) => {
    const { count } = await ctx.db.agent.updateMany({
      where: { id: input.agentId, tenantId: ctx.tenantId, status: "active" },
      data: { status: "revoked", revokedAt: new Date() },
    });
    if (count === 0) throw notFound("agent");
    await ctx.db.auditLog.create({
      data: {
        tenantId: ctx.tenantId,
        actorUserId: ctx.user.id,
        action: "agent.revoke",
        targetType: "agent",
        targetId: input.agentId,
      },
    });
    return { revoked: true };
  }),

  createEnrollmentToken: tenantProcedure
    .input(
      z.strictObject({
        label: z.string().trim().max(200).nullable().default(null),
        ttlHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 30)
          .default(24),
      }),
    )
    .mutation(({ ctx, input }) => createEnrollmentToken(ctx.db, ctx.tenantId, ctx.user.id, input)),

  enrollmentTokens: tenantProcedure.query(({ ctx }) =>
    ctx.db.enrollmentToken.findMany({
      where: { tenantId: ctx.tenantId },
      orderBy: { createdAt: "desc" },
      take: 50,
      select: { id: true, label: true, expiresAt: true, usedAt: true, usedByAgentId: true, createdAt: true },
    }),
  ),

  revokeEnrollmentToken: tenantProcedure
    .input(z.strictObject({ tokenId: z.uuid() }))
    .mutation(async ({ ctx, input }) => {
      const { count } = await ctx.db.enrollmentToken.updateMany({
        where: { id: input.tokenId, tenantId: ctx.tenantId, usedAt: null },
        data: { expiresAt: new Date() },
      });
      if (count === 0) throw notFound("enrollment token");
      return { revoked: true };
    }),
});
