import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } from "@prisma/driver-adapter-utils";
import type { DiffTarget, SchemaEngine } from "@prisma/schema-engine-wasm";
import pg from "pg";
import { listMigrations } from "./migrate.ts";
import { schemaPath } from "./paths.ts";

// Prisma's schema engine compiled to WebAssembly, driven through the same pg adapter the runtime uses. It replaces
// the native schema-engine binary that Prisma's CLI would download (impossible offline) for the two things we need:
// writing a new migration from a schema change, and proving that a migrated database matches schema.prisma.

const noFilters = { externalTables: [], externalEnums: [] };

const pgCharTypeOid = 18;
const pgTextTypeOid = 25;
/** Result rows of catalog queries whose "char" columns were relabelled, with those columns' positions. */
const charColumnsOfRows = new WeakMap<unknown[], number[]>();

/**
 * The engine's catalog queries return columns of PostgreSQL's internal one-byte `"char"` type (pg_class.relkind,
 * pg_constraint.contype), which the pg adapter refuses. We let them through as text here and type them as
 * characters again in CatalogAdapterFactory, which is what the engine's describer reads them as.
 */
class CatalogClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg's query() has a dozen overloads; we only post-process results.
  override query(...args: any[]): any {
    const relabel = (result: pg.QueryResult | undefined) => {
      const charColumns: number[] = [];
      result?.fields.forEach((field, index) => {
        if (field.dataTypeID !== pgCharTypeOid) return;
        field.dataTypeID = pgTextTypeOid;
        charColumns.push(index);
      });
      if (result && charColumns.length > 0) charColumnsOfRows.set(result.rows, charColumns);
      return result;
    };
    const callback = args.at(-1);
    if (typeof callback === "function") {
      // pg.Pool#query passes a callback.
      args[args.length - 1] = (error: Error | null, result: pg.QueryResult) => callback(error, relabel(result));
    }
    // biome-ignore lint/suspicious/noExplicitAny: see above.
    const returned = (super.query as (...a: any[]) => any)(...args);
    return returned instanceof Promise ? returned.then(relabel) : returned;
  }
}

/**
 * Discrete fields in a plain object: the adapter opens its shadow database by spreading this config with another
 * `database`, which a connection string would override and a pg.Pool's hidden password would not survive.
 */
function connectionFields(databaseUrl: string): pg.PoolConfig {
  const url = new URL(databaseUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
  };
}

class CatalogAdapterFactory extends PrismaPg {
  readonly fields: pg.PoolConfig;
  constructor(fields: pg.PoolConfig) {
    super({ ...fields, Client: CatalogClient, max: 2 });
    this.fields = fields;
  }

  override async connect() {
    const connection = await super.connect();
    const queryRaw = connection.queryRaw.bind(connection);
    connection.queryRaw = async (query) => {
      const result = await queryRaw(query);
      for (const index of charColumnsOfRows.get(result.rows) ?? [])
        result.columnTypes[index] = ColumnTypeEnum.Character;
      return result;
    };
    return connection;
  }

  /** The adapter's own version drops the shadow database while its pool still holds a connection, so the drop fails. */
  override async connectToShadowDb() {
    const main = await this.connect();
    const database = `prisma_migrate_shadow_db_${randomUUID()}`;
    await main.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = await new CatalogAdapterFactory({ ...this.fields, database }).connect();
    const closeShadow = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await closeShadow();
      await main.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await main.dispose();
    };
    return shadow;
  }
}

async function withEngine<T>(databaseUrl: string, work: (engine: SchemaEngine, schema: string) => Promise<T>) {
  // Loaded on demand: the runtime never needs the 5 MB WebAssembly module.
  const { SchemaEngine: Engine } = await import("@prisma/schema-engine-wasm");
  const schema = await readFile(schemaPath, "utf8");
  const adapter = bindMigrationAwareSqlAdapterFactory(new CatalogAdapterFactory(connectionFields(databaseUrl)));
  const engine = await Engine.new({ datamodels: [["schema.prisma", schema]] }, () => {}, adapter);
  try {
    return await work(engine, schema);
  } finally {
    engine.free();
  }
}

function schemaTarget(schema: string): DiffTarget {
  return { tag: "schemaDatamodel", files: [{ path: "schema.prisma", content: schema }] };
}

/**
 * The SQL that would turn the database at `databaseUrl` into what schema.prisma describes; empty when they agree.
 * The database side is read from the live catalog, so this sees tables, columns, types, nullability, defaults,
 * enums, indexes, unique constraints and foreign keys exactly as Prisma's own `migrate diff` would.
 */
export async function diffDatabaseToSchema(databaseUrl: string): Promise<string> {
  return withEngine(databaseUrl, async (engine, schema) => {
    const result = await engine.diff({
      from: { tag: "schemaDatasource", files: [{ path: "schema.prisma", content: schema }], configDir: "." },
      to: schemaTarget(schema),
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    return stripEmptyDiff(result.stdout ?? "");
  });
}

/**
 * The SQL of a new migration: from the state the existing migrations produce (replayed in a throw-away shadow
 * database that the engine creates and drops) to schema.prisma.
 */
export async function diffMigrationsToSchema(databaseUrl: string): Promise<string> {
  const migrations = await listMigrations();
  return withEngine(databaseUrl, async (engine, schema) => {
    const result = await engine.diff({
      from: {
        tag: "migrations",
        baseDir: ".",
        lockfile: { path: "migration_lock.toml", content: 'provider = "postgresql"\n' },
        migrationDirectories: migrations.map((migration) => ({
          path: migration.name,
          migrationFile: { path: "migration.sql", content: { tag: "ok", value: migration.sql } },
        })),
        shadowDbInitScript: "",
      },
      to: schemaTarget(schema),
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    return stripEmptyDiff(result.stdout ?? "");
  });
}

function stripEmptyDiff(sql: string): string {
  return sql.includes("This is an empty migration.") ? "" : sql.trim();
}
