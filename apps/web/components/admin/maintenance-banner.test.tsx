// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { MaintenanceBanner } from "./maintenance-banner.tsx";

afterEach(cleanup);

describe("MaintenanceBanner", () => {
  it("follows the run from queued through running to its result, then can be dismissed", () => {
    let dismissed = 0;
    const onDismiss = () => (dismissed += 1);
    const { rerender } = render(<MaintenanceBanner runId="r1" status={undefined} onDismiss={onDismiss} />);
    expect(screen.getByRole("status").textContent).toMatch(/Maintenance queued for the agent/);
    expect(screen.queryByRole("button", { name: "Dismiss" })).toBeNull();
    expect(screen.getByRole("link", { name: "Open the run" }).getAttribute("href")).toBe("/admin/runs/r1");

    rerender(<MaintenanceBanner runId="r1" status="running" onDismiss={onDismiss} />);
    expect(screen.getByRole("status").textContent).toMatch(/Maintenance running on the agent/);
    expect(screen.queryByText(/queued/)).toBeNull();

    rerender(<MaintenanceBanner runId="r1" status="success" onDismiss={onDismiss} />);
    const banner = screen.getByRole("status");
    expect(banner.textContent).toMatch(/Success.*Maintenance finished\./);
    expect(banner.textContent).not.toMatch(/queued|running/);
    fireEvent.click(screen.getByRole("button", { name: "Dismiss" }));
    expect(dismissed).toBe(1);
  });

  it.each([
    ["failed", /Failed.*Maintenance failed\./],
    ["warning", /Warning.*finished with warnings/],
    ["cancelled", /Cancelled.*was cancelled/],
  ])("says when the run ended %s", (status, text) => {
    render(<MaintenanceBanner runId="r2" status={status} onDismiss={() => {}} />);
    expect(screen.getByRole("status").textContent).toMatch(text);
  });
});
