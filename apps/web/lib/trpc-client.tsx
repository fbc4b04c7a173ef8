"use client";

import type { AppRouter } from "@e3/api/routers";
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { type ReactNode, useState } from "react";
import superjson from "superjson";
import { signInUrlFor } from "./sign-in-url.ts";

// The browser's way to the API: batched queries and mutations over HTTP, subscriptions over server-sent events.
export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** An ended session (expired, signed out elsewhere, disabled) sends the page to sign-in, which says so. */
function onApiError(error: unknown) {
  if ((error as { data?: { code?: string } | null })?.data?.code === "UNAUTHORIZED") {
    window.location.assign(signInUrlFor("expired"));
  }
}

export function ApiProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        queryCache: new QueryCache({ onError: onApiError }),
        mutationCache: new MutationCache({ onError: onApiError }),
        defaultOptions: {
          queries: {
            staleTime: 10_000,
            refetchOnWindowFocus: true,
            // Retrying cannot revive an ended session; the redirect above handles it.
            retry: (failures, error) =>
              failures < 1 && (error as { data?: { code?: string } | null })?.data?.code !== "UNAUTHORIZED",
          },
        },
      }),
  );
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (operation) => operation.type === "subscription",
          true: httpSubscriptionLink({ url: "/api/trpc", transformer: superjson }),
          false: httpBatchLink({ url: "/api/trpc", transformer: superjson }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
