export { createDatabase, type Database } from "./client.ts";
export { type DatabaseLocation, resolveDatabase } from "./database-url.ts";
export { type EmbeddedDatabase, startEmbeddedDatabase } from "./embedded.ts";
export * from "./generated/client.ts";
export { checkDatabaseHealth, type DatabaseHealth } from "./health.ts";
export { applyMigrations, listMigrations, type Migration, MigrationError, migrationChecksum } from "./migrate.ts";
export { formatSeedResult, type SeedOptions, type SeedResult, seedDatabase } from "./seed.ts";
export { generateToken, hashToken, tokenMatchesHash } from "./tokens.ts";
export { createUserWithPassword, generatePassword, type NewUser, setUserPassword } from "./users.ts";
