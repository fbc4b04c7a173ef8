"use client";

import * as DialogPrimitive from "@radix-ui/react-dialog";
import { clsx } from "clsx";
import { HardDriveUpload, LogOut, Menu, UserRound, X } from "lucide-react";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { type ReactNode, useEffect, useState } from "react";
import { authClient } from "../../lib/auth-client.ts";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "../ui/dropdown-menu.tsx";
import { TooltipProvider } from "../ui/tooltip.tsx";
import { adminNav, adminNavLink, clientNav, isActive, type NavItem } from "./nav.ts";
import { ThemeToggle } from "./theme.tsx";

export type ShellUser = { name: string; email: string; role: "admin" | "client" };

function NavLinks({ items, pathname, onNavigate }: { items: NavItem[]; pathname: string; onNavigate?: () => void }) {
  // The longest matching section wins, so /admin/runs lights "Runs", not also "Fleet" (/admin).
  const current = items
    .filter((item) => isActive(pathname, item.href))
    .sort((a, b) => b.href.length - a.href.length)[0];
  return (
    <ul className="space-y-0.5">
      {items.map((item) => {
        const active = item === current;
        return (
          <li key={item.href}>
            <Link
              href={item.href}
              onClick={onNavigate}
              aria-current={active ? "page" : undefined}
              className={clsx(
                "flex items-center gap-3 rounded-md px-3 py-2 text-sm font-medium",
                active
                  ? "bg-sky-100 text-sky-900 dark:bg-sky-900/40 dark:text-sky-100"
                  : "text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800",
              )}
            >
              <item.icon className="size-4 shrink-0" aria-hidden />
              {item.label}
            </Link>
          </li>
        );
      })}
    </ul>
  );
}

function Brand() {
  return (
    <Link href="/dashboard" className="flex items-center gap-2 rounded-md px-1 text-base font-semibold">
      <HardDriveUpload className="size-5 text-sky-700 dark:text-sky-400" aria-hidden />
      e3 backup
    </Link>
  );
}

function UserMenu({ user }: { user: ShellUser }) {
  const router = useRouter();
  const [signingOut, setSigningOut] = useState(false);
  async function signOut() {
    setSigningOut(true);
    await authClient.signOut().catch(() => null);
    router.replace("/sign-in?reason=signed-out");
    router.refresh();
  }
  return (
    <DropdownMenu>
      <DropdownMenuTrigger
        data-testid="user-menu"
        className="inline-flex h-9 max-w-56 items-center gap-2 rounded-md px-2 text-sm text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800"
      >
        <UserRound className="size-5 shrink-0" aria-hidden />
        <span className="hidden truncate sm:inline">{user.name || user.email}</span>
        <span className="sr-only sm:hidden">Account menu</span>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end">
        <DropdownMenuLabel>
          <span className="block font-medium text-slate-900 dark:text-slate-100">{user.name}</span>
          <span className="block">{user.email}</span>
        </DropdownMenuLabel>
        <DropdownMenuSeparator />
        <DropdownMenuItem onSelect={() => router.push("/account")}>Account and security</DropdownMenuItem>
        {user.role === "client" && (
          <DropdownMenuItem onSelect={() => router.push("/settings")}>Settings</DropdownMenuItem>
        )}
        <DropdownMenuItem onSelect={signOut} disabled={signingOut}>
          <LogOut className="size-4" aria-hidden /> {signingOut ? "Signing out…" : "Sign out"}
        </DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  );
}

/**
 * The signed-in frame: sidebar navigation (a drawer on phones), top bar with theme toggle and user menu, a skip link,
 * and an optional banner slot above everything (the admin's "viewing as client" notice).
 */
export function AppShell({
  user,
  section,
  nav: givenNav,
  banner,
  children,
}: {
  user: ShellUser;
  /** Which side's navigation, for server layouts (icons are functions and cannot cross to the client as `nav`). */
  section?: "client" | "admin";
  nav?: NavItem[];
  banner?: ReactNode;
  children: ReactNode;
}) {
  const nav = givenNav ?? (section === "admin" ? adminNav : clientNav);
  const pathname = usePathname();
  const [drawerOpen, setDrawerOpen] = useState(false);
  // Admins see the Admin link beside the client sections; the admin side passes its own navigation.
  const items = user.role === "admin" && nav === clientNav ? [...nav, adminNavLink] : nav;
  // A navigation closes the drawer even when it happened by other means than a click in it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: pathname is the trigger
  useEffect(() => setDrawerOpen(false), [pathname]);

  return (
    <TooltipProvider>
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-white px-3 py-2 text-sm font-medium focus:not-sr-only focus:fixed focus:top-2 focus:left-2 dark:bg-slate-900"
      >
        Skip to content
      </a>
      {banner}
      <div className="flex min-h-screen">
        <aside className="hidden w-60 shrink-0 border-r border-slate-200 bg-white md:block dark:border-slate-800 dark:bg-slate-900">
          <div className="sticky top-0 flex h-screen flex-col gap-6 p-4">
            <Brand />
            <nav aria-label="Main">
              <NavLinks items={items} pathname={pathname} />
            </nav>
          </div>
        </aside>
        <div className="flex min-w-0 flex-1 flex-col">
          <header className="sticky top-0 z-30 flex h-14 items-center gap-2 border-b border-slate-200 bg-white/90 px-3 backdrop-blur md:px-6 dark:border-slate-800 dark:bg-slate-900/90">
            <DialogPrimitive.Root open={drawerOpen} onOpenChange={setDrawerOpen}>
              <DialogPrimitive.Trigger
                className="inline-flex size-9 items-center justify-center rounded-md text-slate-700 hover:bg-slate-100 md:hidden dark:text-slate-200 dark:hover:bg-slate-800"
                aria-label="Open navigation"
                data-testid="nav-toggle"
              >
                <Menu className="size-5" aria-hidden />
              </DialogPrimitive.Trigger>
              <DialogPrimitive.Portal>
                <DialogPrimitive.Overlay className="fixed inset-0 z-40 bg-slate-950/50 md:hidden" />
                <DialogPrimitive.Content
                  aria-describedby={undefined}
                  className="fixed inset-y-0 left-0 z-50 flex w-72 max-w-[85vw] flex-col gap-6 bg-white p-4 shadow-xl md:hidden dark:bg-slate-900"
                >
                  <div className="flex items-center justify-between">
                    <DialogPrimitive.Title asChild>
                      <div>
                        <Brand />
                      </div>
                    </DialogPrimitive.Title>
                    <DialogPrimitive.Close
                      aria-label="Close navigation"
                      className="inline-flex size-9 items-center justify-center rounded-md hover:bg-slate-100 dark:hover:bg-slate-800"
                    >
                      <X className="size-5" aria-hidden />
                    </DialogPrimitive.Close>
                  </div>
                  <nav aria-label="Main">
                    <NavLinks items={items} pathname={pathname} onNavigate={() => setDrawerOpen(false)} />
                  </nav>
                </DialogPrimitive.Content>
              </DialogPrimitive.Portal>
            </DialogPrimitive.Root>
            <div className="md:hidden">
              <Brand />
            </div>
            <div className="ml-auto flex items-center gap-1">
              <ThemeToggle />
              <UserMenu user={user} />
            </div>
          </header>
          <main
            id="main"
            tabIndex={-1}
            className="mx-auto w-full max-w-6xl flex-1 space-y-6 px-4 py-6 outline-none md:px-8 md:py-8"
          >
            {children}
          </main>
        </div>
      </div>
    </TooltipProvider>
  );
}
