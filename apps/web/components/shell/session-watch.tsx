"use client";

import { useEffect, useRef } from "react";
import { authClient } from "../../lib/auth-client.ts";
import { signInUrlFor } from "../../lib/sign-in-url.ts";

const activityEvents = ["pointerdown", "keydown", "wheel", "touchstart"] as const;
/** Shared by the portal's tabs, so activity in one keeps the others from signing everybody out. */
const activityKey = "e3-last-activity";

function sharedLastActivity(own: number): number {
  const stored = Number(window.localStorage.getItem(activityKey) ?? 0);
  return Number.isFinite(stored) ? Math.max(stored, own) : own;
}

/**
 * The idle timeout (E3_SESSION_IDLE_MINUTES): while the user is active the session is refreshed through
 * /api/auth/get-session (which renews the cookie and the stored expiry; API calls alone do not), and after the idle
 * time without input the browser signs out and returns to sign-in with a message. A session that ended elsewhere
 * (signed out in another tab, disabled by an admin) is noticed on the next check.
 */
export function SessionWatch({ idleSeconds }: { idleSeconds: number }) {
  const lastActivity = useRef(Date.now());
  const lastRefresh = useRef(Date.now());

  useEffect(() => {
    const touch = () => {
      const now = Date.now();
      if (now - lastActivity.current > 5_000) window.localStorage.setItem(activityKey, String(now));
      lastActivity.current = now;
    };
    for (const name of activityEvents) window.addEventListener(name, touch, { passive: true });
    const refreshEveryMs = Math.max(1_000, Math.min(60_000, (idleSeconds * 1000) / 10));
    let stopped = false;
    const check = async () => {
      const now = Date.now();
      lastActivity.current = sharedLastActivity(lastActivity.current);
      if (now - lastActivity.current >= idleSeconds * 1000) {
        stopped = true;
        await authClient.signOut().catch(() => null);
        window.location.assign(signInUrlFor("idle"));
        return;
      }
      if (lastActivity.current > lastRefresh.current && now - lastRefresh.current >= refreshEveryMs) {
        lastRefresh.current = now;
        const session = await authClient.getSession().catch(() => null);
        if (session && !session.error && !session.data && !stopped) {
          stopped = true;
          window.location.assign(signInUrlFor("expired"));
        }
      }
    };
    const timer = window.setInterval(
      () => {
        if (!stopped) void check();
      },
      Math.min(refreshEveryMs, 15_000),
    );
    return () => {
      window.clearInterval(timer);
      for (const name of activityEvents) window.removeEventListener(name, touch);
    };
  }, [idleSeconds]);

  return null;
}
