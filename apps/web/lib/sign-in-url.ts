/** Where an ended session sends the page: sign-in, saying why, and back to this page afterwards. */
export function signInUrlFor(reason: "expired" | "idle", path = window.location.pathname + window.location.search) {
  return `/sign-in?reason=${reason}&next=${encodeURIComponent(path)}`;
}

/** The page to open after sign-in: `next` if it is a path on this portal (never another host), else by role. */
export function afterSignIn(next: string | null, role: "admin" | "client"): string {
  if (next?.startsWith("/") && !next.startsWith("//") && !next.startsWith("/sign-in")) return next;
  return role === "admin" ? "/admin" : "/dashboard";
}
