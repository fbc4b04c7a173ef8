import {
  Activity,
  ArchiveRestore,
  BriefcaseBusiness,
  Building2,
  LayoutDashboard,
  type LucideIcon,
  Monitor,
  ScrollText,
  Settings,
  Shield,
  Users,
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

/** The provider admin's sections (app/admin). */
export const adminNav: NavItem[] = [
  { href: "/admin", label: "Fleet", icon: LayoutDashboard },
  { href: "/admin/tenants", label: "Tenants", icon: Building2 },
  { href: "/admin/agents", label: "Agents", icon: Monitor },
  { href: "/admin/jobs", label: "Jobs", icon: BriefcaseBusiness },
  { href: "/admin/runs", label: "Runs", icon: Activity },
  { href: "/admin/users", label: "Users", icon: Users },
  { href: "/admin/audit", label: "Audit log", icon: ScrollText },
  { href: "/admin/settings", label: "Settings", icon: Settings },
];

export function isActive(pathname: string, href: string): boolean {
  return pathname === href || pathname.startsWith(`${href}/`);
}
