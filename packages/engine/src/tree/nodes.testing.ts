import type { NodeType, TreeNode } from "./node.ts";

// Tree nodes for tests that build trees by hand: fixed times, the usual modes, overridable field by field.

const time = "2021-02-03T04:05:06.123456789Z";
const modes = { file: 0o644, dir: 2 ** 31 + 0o755, symlink: (1 << 27) + 0o777 };

export function testNode(name: string | Buffer, type: NodeType, extra: Partial<TreeNode> = {}): TreeNode {
  const mode = type === "file" || type === "dir" || type === "symlink" ? modes[type] : 0o644;
  return {
    name: Buffer.from(name),
    type,
    mode,
    mtime: time,
    atime: time,
    ctime: time,
    uid: 0,
    gid: 0,
    content: null,
    ...extra,
  };
}
