"use client";

import { Monitor, Moon, Sun } from "lucide-react";
import { useCallback, useEffect, useState } from "react";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuRadioGroup,
  DropdownMenuRadioItem,
  DropdownMenuTrigger,
} from "../ui/dropdown-menu.tsx";
import { themeStorageKey } from "./theme-script.tsx";

// The manual theme choice (system / light / dark), kept in localStorage and applied by theme-script.tsx.

export type ThemeChoice = "system" | "light" | "dark";

function readChoice(): ThemeChoice {
  try {
    const stored = localStorage.getItem(themeStorageKey);
    return stored === "light" || stored === "dark" ? stored : "system";
  } catch {
    return "system";
  }
}

export function useTheme(): [ThemeChoice, (choice: ThemeChoice) => void] {
  const [choice, setChoice] = useState<ThemeChoice>("system");
  useEffect(() => setChoice(readChoice()), []);
  const update = useCallback((next: ThemeChoice) => {
    try {
      if (next === "system") localStorage.removeItem(themeStorageKey);
      else localStorage.setItem(themeStorageKey, next);
    } catch {
      // Private mode without storage: the choice lasts for this page only.
    }
    const apply = (window as unknown as { __e3ApplyTheme?: () => void }).__e3ApplyTheme;
    if (apply) apply();
    else
      document.documentElement.classList.toggle(
        "dark",
        next === "dark" || (next === "system" && window.matchMedia("(prefers-color-scheme: dark)").matches),
      );
    setChoice(next);
  }, []);
  return [choice, update];
}

const icons = { system: Monitor, light: Sun, dark: Moon } as const;

export function ThemeToggle() {
  const [choice, setChoice] = useTheme();
  const Icon = icons[choice];
  return (
    <DropdownMenu>
      <DropdownMenuTrigger
        aria-label={`Theme: ${choice}`}
        data-testid="theme-toggle"
        className="inline-flex size-9 items-center justify-center rounded-md text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
      >
        <Icon className="size-5" aria-hidden />
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end">
        <DropdownMenuRadioGroup value={choice} onValueChange={(value) => setChoice(value as ThemeChoice)}>
          <DropdownMenuRadioItem value="system">
            <Monitor className="size-4" aria-hidden /> System
          </DropdownMenuRadioItem>
          <DropdownMenuRadioItem value="light">
            <Sun className="size-4" aria-hidden /> Light
          </DropdownMenuRadioItem>
          <DropdownMenuRadioItem value="dark">
            <Moon className="size-4" aria-hidden /> Dark
          </DropdownMenuRadioItem>
        </DropdownMenuRadioGroup>
      </DropdownMenuContent>
    </DropdownMenu>
  );
}
