import {
  createBucket,
  listBuckets,
  s3ProbeInputSchema,
  testDestination,
  testDestinationInputSchema,
} from "../services/destinations.ts";
import { bucketNameSchema } from "../services/job-schemas.ts";
import { router, tenantProcedure } from "../trpc.ts";

// The job wizard's destination step. Mutations, not queries: the keys travel in the request body, never in a URL
// (query inputs end up in access logs).
export const destinationsRouter = router({
  test: tenantProcedure
    .input(testDestinationInputSchema)
    .mutation(({ ctx, input }) => testDestination(ctx, ctx.tenantId, input)),

  buckets: tenantProcedure
    .input(s3ProbeInputSchema)
    .mutation(({ ctx, input }) => listBuckets(ctx, ctx.tenantId, input)),

  createBucket: tenantProcedure
    .input(s3ProbeInputSchema.extend({ bucket: bucketNameSchema }))
    .mutation(({ ctx, input }) => createBucket(ctx, ctx.tenantId, input)),
});
