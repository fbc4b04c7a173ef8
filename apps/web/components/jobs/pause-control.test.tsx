// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { PauseControl } from "./pause-control.tsx";

afterEach(cleanup);

describe("PauseControl", () => {
  it("opens its menu from the keyboard and pauses for the chosen time", async () => {
    const calls: (Date | null)[] = [];
    render(
      <PauseControl
        jobName="Photos"
        paused={false}
        pending={false}
        onPause={(until) => calls.push(until)}
        onResume={() => {}}
      />,
    );
    const trigger = screen.getByRole("button", { name: /Pause\s*:\s*Photos/ });
    trigger.focus();
    fireEvent.keyDown(trigger, { key: "Enter" });
    const day = await screen.findByRole("menuitem", { name: "For 1 day" });
    expect(screen.getByRole("menuitem", { name: "Until I resume it" })).toBeTruthy();
    const before = Date.now();
    fireEvent.click(day);
    expect(calls).toHaveLength(1);
    const until = calls[0]!.getTime() - before;
    expect(until).toBeGreaterThanOrEqual(86_400_000 - 1000);
    expect(until).toBeLessThanOrEqual(86_400_000 + 1000);

    trigger.focus();
    fireEvent.keyDown(trigger, { key: "Enter" });
    fireEvent.click(await screen.findByRole("menuitem", { name: "Until I resume it" }));
    expect(calls[1]).toBeNull();
  });

  it("offers Resume for a paused job", () => {
    let resumed = 0;
    render(<PauseControl jobName="Photos" paused pending={false} onPause={() => {}} onResume={() => (resumed += 1)} />);
    fireEvent.click(screen.getByRole("button", { name: /Resume\s*:\s*Photos/ }));
    expect(resumed).toBe(1);
    expect(screen.queryByRole("button", { name: /Pause/ })).toBeNull();
  });
});
