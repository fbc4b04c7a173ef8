import { MemoryBackend } from "../src/storage/memory.ts";
import { storageContract } from "./storage-contract.ts";

// The in-memory backend keeps the same promises as the real ones, so tests of the layers above that use it mean
// something.

storageContract("MemoryBackend", async () => ({ backend: new MemoryBackend() }));
