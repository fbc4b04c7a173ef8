import type { ReactNode } from "react";
import { ApiProvider } from "../../lib/trpc-client.tsx";

export default function ClientLayout({ children }: { children: ReactNode }) {
  return <ApiProvider>{children}</ApiProvider>;
}
