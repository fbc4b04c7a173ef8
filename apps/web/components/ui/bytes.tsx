import { type ByteUnits, formatBytes, formatCount } from "../../lib/format.ts";

/** A size in human units ("1.5 GiB") whose exact byte count is in the title. */
export function Bytes({ value, units }: { value: number | bigint | null | undefined; units?: ByteUnits }) {
  if (value === null || value === undefined) return <span>—</span>;
  return (
    <span title={`${formatCount(value)} bytes`} className="whitespace-nowrap tabular-nums">
      {formatBytes(value, units ? { units } : {})}
    </span>
  );
}
