// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { DetailList } from "./detail-list.tsx";
import { type Column, DataTable } from "./table.tsx";

afterEach(cleanup);

type Row = { id: string; name: string; count: number };
const rows: Row[] = [
  { id: "a", name: "Alpha", count: 3 },
  { id: "b", name: "Beta", count: 0 },
];
const columns: (Column<Row> | false)[] = [
  { key: "name", header: "Name", cell: (row) => <a href={`/rows/${row.id}`}>{row.name}</a> },
  {
    key: "count",
    header: "Count",
    className: (row) => (row.count ? "text-red-700" : undefined),
    cellProps: (row) => ({ title: `${row.count} items`, "data-testid": `count-${row.id}` }),
    cell: (row) => row.count,
  },
  false,
  { key: "actions", header: <span className="sr-only">Actions</span>, cell: () => <button type="button">Act</button> },
];

describe("DataTable", () => {
  it("renders a labelled table with column headers, a row per entry and the cells' classes and attributes", () => {
    render(<DataTable label="Things" columns={columns} rows={rows} rowKey={(row) => row.id} />);
    const table = screen.getByRole("table", { name: "Things" });
    const headers = within(table).getAllByRole("columnheader");
    expect(headers.map((header) => header.textContent)).toEqual(["Name", "Count", "Actions"]);
    expect(headers.every((header) => header.getAttribute("scope") === "col")).toBe(true);
    const bodyRows = within(table).getAllByRole("row").slice(1);
    expect(bodyRows).toHaveLength(2);
    expect(within(bodyRows[0]!).getByRole("link", { name: "Alpha" }).getAttribute("href")).toBe("/rows/a");
    const count = screen.getByTestId("count-a");
    expect(count.textContent).toBe("3");
    expect(count.getAttribute("title")).toBe("3 items");
    expect(count.className).toContain("text-red-700");
    expect(screen.getByTestId("count-b").className).not.toContain("text-red-700");
  });

  it("shows hidden skeleton rows while loading, then the empty message in one full-width cell", () => {
    const { rerender, container } = render(
      <DataTable
        label="Things"
        columns={columns}
        rows={undefined}
        rowKey={(row) => row.id}
        skeletonRows={3}
        empty="None yet."
      />,
    );
    const skeleton = container.querySelectorAll("tbody tr[aria-hidden]");
    expect(skeleton).toHaveLength(3);
    expect(skeleton[0]!.querySelectorAll("td")).toHaveLength(3);
    expect(screen.queryByText("None yet.")).toBeNull();

    rerender(<DataTable label="Things" columns={columns} rows={[]} rowKey={(row) => row.id} empty="None yet." />);
    const cell = screen.getByText("None yet.");
    expect(cell.tagName).toBe("TD");
    expect(cell.getAttribute("colspan")).toBe("3");
    expect(container.querySelectorAll("tbody tr[aria-hidden]")).toHaveLength(0);
  });

  it("shows emptyView instead of the table when there are no rows", () => {
    render(
      <DataTable
        label="Things"
        columns={columns}
        rows={[]}
        rowKey={(row) => row.id}
        emptyView={<p>Create your first thing.</p>}
      />,
    );
    expect(screen.queryByRole("table")).toBeNull();
    expect(screen.getByText("Create your first thing.")).toBeTruthy();
  });

  it("calls onRowClick for a click on the row but leaves clicks on links and buttons inside it alone", () => {
    const clicked: string[] = [];
    render(
      <DataTable
        label="Things"
        columns={columns}
        rows={rows}
        rowKey={(row) => row.id}
        rowProps={(row) => ({ "data-row-id": row.id })}
        onRowClick={(row) => clicked.push(row.id)}
      />,
    );
    fireEvent.click(screen.getByTestId("count-b"));
    expect(clicked).toEqual(["b"]);
    fireEvent.click(screen.getAllByRole("button", { name: "Act" })[0]!);
    const link = screen.getByRole("link", { name: "Alpha" });
    link.addEventListener("click", (event) => event.preventDefault());
    fireEvent.click(link);
    expect(clicked).toEqual(["b"]);
    const row = document.querySelector('[data-row-id="a"]');
    expect(row?.className).toContain("cursor-pointer");
  });
});

describe("DetailList", () => {
  it("renders label/value pairs as a description list, in order, from items or from an object", () => {
    const { container, rerender } = render(
      <DetailList
        items={[
          { label: "Tenant", value: <a href="/t">Acme</a> },
          { label: "Engine", value: "backup" },
        ]}
      />,
    );
    const dl = container.querySelector("dl");
    expect(dl).not.toBeNull();
    expect([...dl!.querySelectorAll("dt")].map((dt) => dt.textContent)).toEqual(["Tenant", "Engine"]);
    expect([...dl!.querySelectorAll("dd")].map((dd) => dd.textContent)).toEqual(["Acme", "backup"]);

    rerender(<DetailList rows={{ Version: "1.2.0", OS: "linux / amd64" }} />);
    const terms = [...container.querySelectorAll("dt")].map((dt) => dt.textContent);
    expect(terms).toEqual(["Version", "OS"]);
    expect(container.querySelector("dt + dd")?.textContent).toBe("1.2.0");
  });
});
