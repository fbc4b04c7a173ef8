import { appRouter, createRequestContext } from "@e3/api";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { getServerContext } from "../../../../lib/server-context.ts";

export const dynamic = "force-dynamic";

function handler(request: Request) {
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: () => createRequestContext(request, getServerContext()),
    onError: ({ error, path }) => {
      if (error.code === "INTERNAL_SERVER_ERROR") console.error(`tRPC ${path ?? "?"} failed:`, error.message);
    },
  });
}

export { handler as GET, handler as POST };
