import type { Database } from "@e3/db";
import { z } from "zod";

// Provider-wide settings (seed: cloudbackup_agent_s3_endpoint, cloudbackup_agent_s3_region), one JSON value per key.

export const settingSchemas = {
  agent_s3_endpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://s3.example.com" }),
  agent_s3_region: z.string().min(1).max(64),
} as const;
export type SettingKey = keyof typeof settingSchemas;
export type SettingValue<K extends SettingKey> = z.infer<(typeof settingSchemas)[K]>;

export async function readSetting<K extends SettingKey>(db: Database, key: K): Promise<SettingValue<K> | null> {
  const row = await db.setting.findUnique({ where: { key } });
  if (!row) return null;
  const parsed = settingSchemas[key].safeParse(row.value);
  return parsed.success ? (parsed.data as SettingValue<K>) : null;
}

export async function writeSetting<K extends SettingKey>(db: Database, key: K, value: SettingValue<K>): Promise<void> {
  const parsed = settingSchemas[key].parse(value);
  await db.setting.upsert({ where: { key }, create: { key, value: parsed }, update: { value: parsed } });
}
