// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { RecoveryKeyDialog } from "./recovery-key-dialog.tsx";

afterEach(cleanup);

const job = {
  name: "Finance",
  destType: "s3" as const,
  destBucket: "acme",
  destPrefix: "fin",
  destEndpoint: "https://s3.example.com",
  destLocalPath: null,
};
const passphrase = "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2";

describe("RecoveryKeyDialog", () => {
  it("warns that it is shown once, takes the passphrase only on request, downloads it and keeps it on screen", async () => {
    let takes = 0;
    const downloads: { name: string; text: string }[] = [];
    let taken = 0;
    render(
      <RecoveryKeyDialog
        job={job}
        take={async () => {
          takes += 1;
          return { passphrase, keyId: "k1", createdAt: new Date("2026-12-01T10:00:00Z") };
        }}
        onTaken={() => (taken += 1)}
        download={(name, text) => downloads.push({ name, text })}
      />,
    );
    fireEvent.click(screen.getByRole("button", { name: /Recovery passphrase/ }));
    const dialog = await screen.findByRole("dialog");
    expect(within(dialog).getByText("Shown once.")).toBeTruthy();
    // Opening the dialog takes nothing: the one download happens on the button.
    expect(takes).toBe(0);

    fireEvent.click(within(dialog).getByRole("button", { name: /Download passphrase/ }));
    expect(await within(dialog).findByText(passphrase)).toBeTruthy();
    expect(takes).toBe(1);
    expect(taken).toBe(0);
    expect(downloads).toHaveLength(1);
    expect(downloads[0]!.name).toBe("e3-recovery-finance.txt");
    expect(downloads[0]!.text).toContain(passphrase);
    expect(downloads[0]!.text).toContain("restic -r s3:https://s3.example.com/acme/fin");

    // Download again repeats the file from memory; the server is not asked a second time.
    fireEvent.click(within(dialog).getByRole("button", { name: /Download again/ }));
    expect(downloads).toHaveLength(2);
    expect(takes).toBe(1);

    // Esc closes it and focus returns to the button that opened it.
    fireEvent.keyDown(dialog, { key: "Escape" });
    expect(screen.queryByRole("dialog")).toBeNull();
    // Only now may the jobs page refresh its list (which removes this button).
    expect(taken).toBe(1);
    expect(document.activeElement?.textContent).toContain("Recovery passphrase");
  });

  it("shows the server's refusal where it happened (taken already)", async () => {
    render(
      <RecoveryKeyDialog
        job={job}
        take={() => Promise.reject(new Error("the recovery passphrase was downloaded already"))}
        download={() => {
          throw new Error("nothing to download");
        }}
      />,
    );
    fireEvent.click(screen.getByRole("button", { name: /Recovery passphrase/ }));
    const dialog = await screen.findByRole("dialog");
    fireEvent.click(within(dialog).getByRole("button", { name: /Download passphrase/ }));
    expect((await within(dialog).findByRole("alert")).textContent).toContain("downloaded already");
  });
});
