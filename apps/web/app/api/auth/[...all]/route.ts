import { toNextJsHandler } from "better-auth/next-js";
import { getServerContext } from "../../../../lib/server-context.ts";

// better-auth's endpoints: sign-in, sign-out, session, password reset, TOTP, admin impersonation.
export const dynamic = "force-dynamic";

export function GET(request: Request) {
  return toNextJsHandler(getServerContext().auth).GET(request);
}

export function POST(request: Request) {
  return toNextJsHandler(getServerContext().auth).POST(request);
}
