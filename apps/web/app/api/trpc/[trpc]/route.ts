import { appRouter, createRequestContext, log, observeApiRequest } from "@e3/api";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { getServerContext } from "../../../../lib/server-context.ts";

export const dynamic = "force-dynamic";

async function handler(request: Request) {
  const started = performance.now();
  const response = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: () => createRequestContext(request, getServerContext()),
    onError: ({ error, path }) => {
      if (error.code === "INTERNAL_SERVER_ERROR") log.error({ err: error, path }, "tRPC request failed");
    },
  });
  // Batched calls are labelled by their procedures joined; known procedures only, so labels stay bounded.
  const procedures = new URL(request.url).pathname.replace(/^\/api\/trpc\//, "").split(",");
  const known = procedures.every((path) => path in appRouter._def.procedures);
  observeApiRequest(
    "trpc",
    known ? procedures.join(",") : "unknown",
    response.status,
    (performance.now() - started) / 1000,
  );
  return response;
}

export { handler as GET, handler as POST };
