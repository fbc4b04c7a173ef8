import { createHmac } from "node:crypto";
import type { Database } from "@e3/db";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";
import { symmetricDecrypt } from "better-auth/crypto";

// RFC 6238 §5.2: a verifier must not accept the same one-time code twice. better-auth's TOTP check is a pure function
// of the secret and the clock, so a code stays good for its whole ±1-step window (about 90 s) and a code seen over a
// shoulder signs in again. This guard runs before better-auth verifies a code: it finds which time step the code
// belongs to and claims that step for the user with one guarded UPDATE, so a reused code, an older one, and two
// requests racing with the same code all lose. A code that matches no step is left for better-auth to refuse (and
// count as a failure).

export const totpPeriodSeconds = 30;
const acceptedSkewSteps = 1;
const codeDigits = 6;
/** How better-auth marks a secret stored base32-encoded (the rest is taken as the key's UTF-8 bytes). */
const base32Prefix = "base32:";
const base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** The RFC 4226 HOTP code of `key` for one counter value. */
export function hotp(key: Uint8Array, counter: number, digits = codeDigits): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", key).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits).toString().padStart(digits, "0");
}

/** The time step within the accepted window whose code is `code`, or null when none is. */
export function matchingTotpStep(key: Uint8Array, code: string, now = Date.now()): number | null {
  const current = Math.floor(now / 1000 / totpPeriodSeconds);
  for (let step = current - acceptedSkewSteps; step <= current + acceptedSkewSteps; step++) {
    if (hotp(key, step) === code) return step;
  }
  return null;
}

/** The HMAC key of a secret as better-auth stores it once decrypted. */
export function totpKey(decryptedSecret: string): Uint8Array {
  if (!decryptedSecret.startsWith(base32Prefix)) return new TextEncoder().encode(decryptedSecret);
  let bits = "";
  for (const char of decryptedSecret.slice(base32Prefix.length).replace(/=+$/, "").toUpperCase()) {
    const value = base32Alphabet.indexOf(char);
    if (value < 0) throw new Error("the stored TOTP secret is not base32");
    bits += value.toString(2).padStart(5, "0");
  }
  const bytes = new Uint8Array(Math.floor(bits.length / 8));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  return bytes;
}

/** better-auth's "before" hook that refuses a TOTP code whose time step this user has already spent. */
export function totpReplayGuard(db: Database) {
  return createAuthMiddleware(async (ctx) => {
    if (ctx.path !== "/two-factor/verify-totp") return;
    const code = (ctx.body as { code?: unknown } | undefined)?.code;
    if (typeof code !== "string") return;
    const userId = await userVerifying(ctx);
    if (!userId) return;
    const twoFactor = await db.twoFactor.findFirst({ where: { userId }, select: { secret: true } });
    if (!twoFactor) return;
    const secret = await symmetricDecrypt({ key: ctx.context.secretConfig, data: twoFactor.secret });
    const step = matchingTotpStep(totpKey(secret), code);
    if (step === null) return;
    const claimed = await db.twoFactor.updateMany({
      where: { userId, OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: step } }] },
      data: { lastUsedStep: step },
    });
    if (claimed.count === 0) {
      throw new APIError("UNAUTHORIZED", {
        code: "TOTP_CODE_ALREADY_USED",
        message: "this code was already used; wait for the next code from your authenticator app",
      });
    }
  });
}

type HookContext = Parameters<Parameters<typeof createAuthMiddleware>[0]>[0];

/** The user a verify-totp request is for: the signed-in user, or the one a sign-in's two-factor cookie names. */
async function userVerifying(ctx: HookContext): Promise<string | null> {
  const session = await getSessionFromCtx(ctx);
  if (session) return session.user.id;
  const cookie = ctx.context.createAuthCookie("two_factor");
  const pending = await ctx.getSignedCookie(cookie.name, ctx.context.secret);
  if (!pending) return null;
  const verification = await ctx.context.internalAdapter.findVerificationValue(pending);
  return verification?.value ?? null;
}
