"use client";

import { type BrowseCommandResult, browseCommandResultSchema } from "@e3/api/agent-contract";
import { useQuery } from "@tanstack/react-query";
import { useTRPCClient } from "./trpc-client.tsx";

// Looking at an agent's disks or into a snapshot: commands.browse queues a browse command, the agent answers it on
// its next poll, and commands.get is polled until the answer is there. Each answer is cached by what was asked, so
// going back up a folder is instant. The answer is parsed with the agent contract's own schema.

type BrowseRequest = Parameters<ReturnType<typeof useTRPCClient>["commands"]["browse"]["mutate"]>[0];

const pollMs = 400;
/** The server expires a browse command after two minutes; the portal stops waiting a little before. */
const giveUpMs = 110_000;

export class BrowseError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export function useAgentBrowse<K extends BrowseCommandResult["kind"]>(request: (BrowseRequest & { kind: K }) | null) {
  const client = useTRPCClient();
  return useQuery({
    queryKey: ["agent-browse", request],
    enabled: request !== null,
    staleTime: 60_000,
    retry: false,
    queryFn: async ({ signal }): Promise<Extract<BrowseCommandResult, { kind: K }>> => {
      const { commandId } = await client.commands.browse.mutate(request as BrowseRequest, { signal });
      const deadline = Date.now() + giveUpMs;
      for (;;) {
        const command = await client.commands.get.query({ commandId }, { signal });
        if (command.status === "completed") {
          const parsed = browseCommandResultSchema.safeParse(command.resultJson);
          if (!parsed.success) {
            throw new BrowseError("BAD_ANSWER", "the agent's answer could not be read; update the agent");
          }
          return parsed.data as Extract<BrowseCommandResult, { kind: K }>;
        }
        if (command.status === "failed") {
          throw new BrowseError("BROWSE_FAILED", command.errorMessage ?? "the agent could not list this folder");
        }
        if (command.status === "expired" || Date.now() > deadline) {
          throw new BrowseError(
            "AGENT_OFFLINE",
            "the agent did not answer; check that it is online (Agents page), or type the path instead",
          );
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
        signal.throwIfAborted();
      }
    },
  });
}
