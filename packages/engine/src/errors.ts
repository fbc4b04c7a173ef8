/** Error codes the engine throws; callers (agent, CLI) map them to exit codes and messages. */
export type EngineErrorCode =
  | "MAC_MISMATCH"
  | "WRONG_PASSWORD"
  | "INVALID_CIPHERTEXT"
  | "INVALID_CONFIG"
  | "INVALID_KEY_FILE"
  | "INVALID_POLYNOMIAL";

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string) {
    super(message);
    this.name = "EngineError";
    this.code = code;
  }
}
