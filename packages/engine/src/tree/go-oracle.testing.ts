// Test helper: asks a real Go toolchain how Go (and therefore restic) quotes names, marshals strings and raw JSON,
// and writes times. Used by the tree tests when `go` is installed (/usr/local/go/bin/go or on PATH); they skip
// otherwise. Each request is answered with the exact bytes Go produced.

import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type GoRequest =
  | { kind: "quote"; bytes: Uint8Array } // strconv.Quote(string(bytes)) without the quotes
  | { kind: "json"; bytes: Uint8Array } // json.Marshal(string(bytes))
  | { kind: "raw"; bytes: Uint8Array } // json.Marshal(json.RawMessage(bytes))
  | { kind: "unquote"; bytes: Uint8Array } // strconv.Unquote(`"` + bytes + `"`), "ERROR" on failure
  | { kind: "nodetime"; nanoseconds: bigint; zone: string }; // restic's FixTime, then time.Time's JSON

const program = `package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"strconv"
	"time"
)

type request struct {
	Kind  string \`json:"kind"\`
	Bytes []byte \`json:"bytes"\`
	Sec   int64  \`json:"sec"\`
	Nsec  int64  \`json:"nsec"\`
	Zone  string \`json:"zone"\`
}

// restic's FixTime (internal/data/node.go).
func fixTime(t time.Time) time.Time {
	switch {
	case t.Year() < 0000:
		return t.AddDate(-t.Year(), 0, 0)
	case t.Year() > 9999:
		return t.AddDate(-(t.Year() - 9999), 0, 0)
	default:
		return t
	}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			panic(err)
		}
		var result []byte
		switch r.Kind {
		case "quote":
			q := strconv.Quote(string(r.Bytes))
			result = []byte(q[1 : len(q)-1])
		case "json":
			result, _ = json.Marshal(string(r.Bytes))
		case "raw":
			var err error
			result, err = json.Marshal(json.RawMessage(r.Bytes))
			if err != nil {
				result = []byte("ERROR")
			}
		case "unquote":
			s, err := strconv.Unquote("\\"" + string(r.Bytes) + "\\"")
			if err != nil {
				result = []byte("ERROR")
			} else {
				result = []byte(s)
			}
		case "nodetime":
			loc, err := time.LoadLocation(r.Zone)
			if err != nil {
				panic(err)
			}
			result, err = json.Marshal(fixTime(time.Unix(r.Sec, r.Nsec).In(loc)))
			if err != nil {
				result = []byte("ERROR")
			}
		}
		out.WriteString(base64.StdEncoding.EncodeToString(result))
		out.WriteString("\\n")
	}
}
`;

function findGo(): string | null {
  for (const candidate of [process.env.GO, "/usr/local/go/bin/go", "go"]) {
    if (!candidate) continue;
    if (candidate.includes("/") && !existsSync(candidate)) continue;
    try {
      execFileSync(candidate, ["version"], { stdio: "ignore" });
      return candidate;
    } catch {
      // not this one
    }
  }
  return null;
}

export const goToolchain = findGo();

/** Runs a one-file Go program with `input` on stdin and returns its stdout (check goToolchain first). */
export async function runGoProgram(source: string, input = ""): Promise<Buffer> {
  if (!goToolchain) throw new Error("no Go toolchain");
  const dir = await mkdtemp(join(tmpdir(), "e3-go-program-"));
  try {
    await writeFile(join(dir, "main.go"), source);
    return await new Promise<Buffer>((resolve, reject) => {
      const child = execFile(
        goToolchain,
        ["run", "main.go"],
        {
          cwd: dir,
          encoding: "buffer",
          maxBuffer: 1024 * 1024 * 1024,
          env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "" },
        },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      );
      child.stdin!.end(input);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Go's answers, in order; throws when there is no Go toolchain (check goToolchain first). */
export async function askGo(requests: readonly GoRequest[]): Promise<Buffer[]> {
  const input = requests
    .map((request) => {
      if (request.kind === "nodetime") {
        const sec = request.nanoseconds / 1_000_000_000n - (request.nanoseconds % 1_000_000_000n < 0n ? 1n : 0n);
        const nsec = request.nanoseconds - sec * 1_000_000_000n;
        return `{"kind":"nodetime","sec":${sec},"nsec":${nsec},"zone":${JSON.stringify(request.zone)}}`;
      }
      return JSON.stringify({ kind: request.kind, bytes: Buffer.from(request.bytes).toString("base64") });
    })
    .join("\n");
  const output = (await runGoProgram(program, `${input}\n`)).toString("utf8");
  // One base64 line per request (an empty answer is an empty line).
  return output
    .split("\n")
    .slice(0, requests.length)
    .map((line) => Buffer.from(line, "base64"));
}
