import { z } from "zod";
import { sendTestNotice } from "../notify/dispatch.ts";
import { sealSecret } from "../secrets/envelope.ts";
import { notFound, router, tenantProcedure } from "../trpc.ts";

const notifyOn = z.enum(["all", "errors", "off"]);

const channelInputSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("email"),
    name: z.string().trim().min(1).max(100),
    target: z.email("must be an email address"),
    notifyOn: notifyOn.default("errors"),
  }),
  z.strictObject({
    kind: z.literal("webhook"),
    name: z.string().trim().min(1).max(100),
    target: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
    /** Signs each delivery (HMAC-SHA256 in the X-E3-Signature header). */
    secret: z.string().min(16, "must be at least 16 characters").max(200),
    notifyOn: notifyOn.default("errors"),
  }),
]);

export const settingsRouter = router({
  notifications: tenantProcedure.query(async ({ ctx }) => {
    const [tenant, channels] = await Promise.all([
      ctx.db.tenant.findUniqueOrThrow({ where: { id: ctx.tenantId } }),
      ctx.db.notificationChannel.findMany({ where: { tenantId: ctx.tenantId }, orderBy: { createdAt: "asc" } }),
    ]);
    return {
      notifyOn: tenant.notifyOn,
      channels: channels.map(({ secretEnc, ...channel }) => ({ ...channel, hasSecret: secretEnc !== null })),
    };
  }),

  setNotifyOn: tenantProcedure.input(z.strictObject({ notifyOn })).mutation(async ({ ctx, input }) => {
    await ctx.db.tenant.update({ where: { id: ctx.tenantId }, data: { notifyOn: input.notifyOn } });
    return { notifyOn: input.notifyOn };
  }),

  addChannel: tenantProcedure.input(channelInputSchema).mutation(async ({ ctx, input }) => {
    const channel = await ctx.db.notificationChannel.create({
      data: {
        tenantId: ctx.tenantId,
        kind: input.kind,
        name: input.name,
        target: input.target,
        notifyOn: input.notifyOn,
        secretEnc: input.kind === "webhook" ? sealSecret(ctx.keyring, input.secret, "secret_enc") : null,
      },
    });
    return { channelId: channel.id };
  }),

  removeChannel: tenantProcedure.input(z.strictObject({ channelId: z.uuid() })).mutation(async ({ ctx, input }) => {
    const { count } = await ctx.db.notificationChannel.deleteMany({
      where: { id: input.channelId, tenantId: ctx.tenantId },
    });
    if (count === 0) throw notFound("notification channel");
    return { removed: true };
  }),

  /** The channel's Test button: sends a test notice through it now and reports whether it arrived. */
  testChannel: tenantProcedure.input(z.strictObject({ channelId: z.uuid() })).mutation(async ({ ctx, input }) => {
    const channel = await ctx.db.notificationChannel.findFirst({
      where: { id: input.channelId, tenantId: ctx.tenantId },
    });
    if (!channel) throw notFound("notification channel");
    const tenant = await ctx.db.tenant.findUniqueOrThrow({ where: { id: ctx.tenantId } });
    return sendTestNotice(
      { keyring: ctx.keyring, mailer: ctx.mailer ?? null, portalUrl: ctx.portalUrl ?? "" },
      channel,
      tenant.name,
    );
  }),
});
