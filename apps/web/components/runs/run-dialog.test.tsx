// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { TooltipProvider } from "../ui/tooltip.tsx";
import { EventTimeline } from "./event-timeline.tsx";
import { RunDialogLink } from "./run-dialog.tsx";

afterEach(cleanup);

const runId = "4f1c2b9e-0d7a-4c55-9a51-6b8f3e2d1c00";
const events = [
  { id: 1, ts: new Date("2026-12-01T10:00:00Z"), type: "BACKUP_STARTING", level: "info", message: "scanning 2 paths" },
  { id: 2, ts: new Date("2026-12-01T10:01:00Z"), type: "BACKUP_COMPLETED", level: "info", message: "snapshot 3fa1" },
];

function renderLink() {
  return render(
    <TooltipProvider>
      <button type="button">before</button>
      <RunDialogLink runId={runId} title="Run of Documents" detail={() => <EventTimeline events={events} />}>
        Documents
      </RunDialogLink>
    </TooltipProvider>,
  );
}

describe("RunDialogLink", () => {
  it("opens the run in a modal, closes on Esc and gives focus back to the link", async () => {
    renderLink();
    const link = screen.getByRole("link", { name: "Documents" });
    expect(link.getAttribute("href")).toBe(`/runs/${runId}`);
    link.focus();
    fireEvent.click(link, { button: 0 });

    const dialog = await screen.findByRole("dialog", { name: "Run of Documents" });
    expect(within(dialog).getByText("BACKUP_STARTING")).toBeTruthy();
    expect(within(dialog).getByText("snapshot 3fa1")).toBeTruthy();
    // Focus moved into the modal.
    expect(dialog.contains(document.activeElement)).toBe(true);

    fireEvent.keyDown(document.activeElement!, { key: "Escape" });
    expect(screen.queryByRole("dialog")).toBeNull();
    // Radix moves focus back once the content has unmounted (a task later).
    await waitFor(() => expect(document.activeElement).toBe(link));
  });

  it("leaves a modified click to the browser (new tab), so the run page stays reachable as a link", () => {
    renderLink();
    const link = screen.getByRole("link", { name: "Documents" });
    const event = new MouseEvent("click", { bubbles: true, cancelable: true, button: 0, ctrlKey: true });
    link.dispatchEvent(event);
    expect(screen.queryByRole("dialog")).toBeNull();
    const middle = new MouseEvent("click", { bubbles: true, cancelable: true, button: 1 });
    link.dispatchEvent(middle);
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("closes with the × button too", async () => {
    renderLink();
    fireEvent.click(screen.getByRole("link", { name: "Documents" }), { button: 0 });
    const dialog = await screen.findByRole("dialog");
    fireEvent.click(within(dialog).getByRole("button", { name: "Close" }));
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("links to the page it is given (the admin run page) and still opens the modal on a plain click", async () => {
    render(
      <TooltipProvider>
        <RunDialogLink
          runId={runId}
          href={`/admin/runs/${runId}`}
          title="Maintenance (full) of Finance share"
          detail={() => <a href={`/admin/runs/${runId}`}>Open the run page</a>}
        >
          2026-12-01 10:00 UTC
        </RunDialogLink>
      </TooltipProvider>,
    );
    const link = screen.getByRole("link", { name: "2026-12-01 10:00 UTC" });
    expect(link.getAttribute("href")).toBe(`/admin/runs/${runId}`);
    fireEvent.click(link, { button: 0 });
    const dialog = await screen.findByRole("dialog", { name: "Maintenance (full) of Finance share" });
    expect(within(dialog).getByRole("link", { name: "Open the run page" }).getAttribute("href")).toBe(
      `/admin/runs/${runId}`,
    );
  });
});
