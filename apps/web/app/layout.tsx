import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { ThemeScript } from "../components/shell/theme-script.tsx";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "e3 backup", template: "%s · e3 backup" },
  description: "Self-hosted backup portal",
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  themeColor: [
    { media: "(prefers-color-scheme: light)", color: "#f8fafc" },
    { media: "(prefers-color-scheme: dark)", color: "#020617" },
  ],
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    // The theme script sets class="dark" before hydration; React must not complain about it.
    <html lang="en" suppressHydrationWarning>
      <head>
        <ThemeScript />
      </head>
      <body className="min-h-screen bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
        {children}
      </body>
    </html>
  );
}
