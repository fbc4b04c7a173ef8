import {
  Activity,
  ArchiveRestore,
  BriefcaseBusiness,
  LayoutDashboard,
  type LucideIcon,
  Monitor,
  Settings,
  Shield,
} from "lucide-react";

export type NavItem = { href: string; label: string; icon: LucideIcon };

/** The client portal's sections, in the order of the sidebar. */
export const clientNav: NavItem[] = [
  { href: "/dashboard", label: "Dashboard", icon: LayoutDashboard },
  { href: "/agents", label: "Agents", icon: Monitor },
  { href: "/jobs", label: "Jobs", icon: BriefcaseBusiness },
  { href: "/runs", label: "Runs", icon: Activity },
  { href: "/restore", label: "Restore", icon: ArchiveRestore },
  { href: "/settings", label: "Settings", icon: Settings },
];

/** Shown below the client sections to provider admins only. */
export const adminNavLink: NavItem = { href: "/admin", label: "Admin", icon: Shield };

export function isActive(pathname: string, href: string): boolean {
  return pathname === href || pathname.startsWith(`${href}/`);
}
