"use client";

import { Check, Copy } from "lucide-react";
import { useState } from "react";
import { Button, type ButtonSize, type ButtonVariant } from "./button.tsx";

async function writeClipboard(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-http portals (a LAN install) have no async clipboard; the old selection trick still works there.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

/** Copies `text`; says "Copied" for two seconds (announced to screen readers). */
export function CopyButton({
  text,
  label = "Copy",
  variant = "secondary",
  size = "sm",
}: {
  text: string;
  label?: string;
  variant?: ButtonVariant;
  size?: ButtonSize;
}) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  async function copy() {
    try {
      await writeClipboard(text);
      setState("copied");
    } catch {
      setState("failed");
    }
    setTimeout(() => setState("idle"), 2000);
  }
  return (
    <Button variant={variant} size={size} onClick={copy} aria-label={size === "icon" ? label : undefined}>
      {state === "copied" ? <Check aria-hidden /> : <Copy aria-hidden />}
      {size !== "icon" && <span>{state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : label}</span>}
      <span className="sr-only" aria-live="polite">
        {state === "copied" ? "Copied to the clipboard" : state === "failed" ? "Could not copy" : ""}
      </span>
    </Button>
  );
}
