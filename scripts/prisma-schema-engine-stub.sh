#!/bin/sh
# Prisma's CLI insists on a schema engine binary it cannot download here; generate never runs it.
echo "e3: the Prisma schema engine is not available offline; use pnpm db:migrate" >&2
exit 1
