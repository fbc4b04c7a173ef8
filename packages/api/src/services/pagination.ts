/** Cursor pagination: the caller fetched `limit + 1` rows; the extra one only says whether another page exists. */
export function pageOf<T extends { id: string }>(rows: T[], limit: number): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

/** The Prisma arguments that fetch the page after `cursor` (one extra row, see pageOf). */
export function pageQuery(limit: number, cursor: string | null | undefined) {
  return { take: limit + 1, ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}) };
}
