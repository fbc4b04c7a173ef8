// Just enough of the PE/COFF format (Microsoft's "PE Format" specification) to check a Windows executable without
// Windows: that it is a 64-bit x64 image, where its Authenticode certificate table is, and what a named RCDATA
// resource holds (Node's single executable applications keep their blob in RT_RCDATA "NODE_SEA_BLOB").

export class PeFormatError extends Error {
  readonly code = "PE_INVALID";
}

const imageFileMachineAmd64 = 0x8664;
const pe32PlusMagic = 0x20b;
const rtRcdata = 10;
const directoryResource = 2;
const directorySecurity = 4;

type Section = { name: string; virtualAddress: number; virtualSize: number; rawOffset: number; rawSize: number };

export type PeImage = {
  machine: number;
  /** IMAGE_FILE_EXECUTABLE_IMAGE is set and IMAGE_FILE_DLL is not. */
  executable: boolean;
  subsystem: number;
  sections: Section[];
  /** File offset and size of the certificate table (Authenticode signature); size 0 when unsigned. */
  certificates: { offset: number; size: number; entryOffset: number };
  /** The bytes of RT_RCDATA resource `name` (first language), or undefined. */
  rcdata(name: string): Buffer | undefined;
};

function need(condition: boolean, what: string): asserts condition {
  if (!condition) throw new PeFormatError(`not a valid PE file: ${what}`);
}

export function parsePe(file: Buffer): PeImage {
  need(file.length > 0x40 && file.toString("latin1", 0, 2) === "MZ", "no MZ header");
  const pe = file.readUInt32LE(0x3c);
  need(pe + 24 <= file.length && file.toString("latin1", pe, pe + 4) === "PE\0\0", "no PE signature");
  const coff = pe + 4;
  const machine = file.readUInt16LE(coff);
  const sectionCount = file.readUInt16LE(coff + 2);
  const optionalSize = file.readUInt16LE(coff + 16);
  const characteristics = file.readUInt16LE(coff + 18);
  const optional = coff + 20;
  need(optional + optionalSize <= file.length, "truncated optional header");
  need(file.readUInt16LE(optional) === pe32PlusMagic, "not a PE32+ (64-bit) image");
  const subsystem = file.readUInt16LE(optional + 68);
  const directoryCount = file.readUInt32LE(optional + 108);
  const directory = (index: number) => {
    need(index < directoryCount, `no data directory ${index}`);
    const entryOffset = optional + 112 + index * 8;
    return { entryOffset, address: file.readUInt32LE(entryOffset), size: file.readUInt32LE(entryOffset + 4) };
  };
  const sections: Section[] = [];
  const table = optional + optionalSize;
  for (let i = 0; i < sectionCount; i++) {
    const at = table + i * 40;
    need(at + 40 <= file.length, "truncated section table");
    sections.push({
      name: file.toString("latin1", at, at + 8).replace(/\0+$/, ""),
      virtualSize: file.readUInt32LE(at + 8),
      virtualAddress: file.readUInt32LE(at + 12),
      rawSize: file.readUInt32LE(at + 16),
      rawOffset: file.readUInt32LE(at + 20),
    });
  }
  const fileOffset = (rva: number) => {
    const section = sections.find(
      (s) => rva >= s.virtualAddress && rva < s.virtualAddress + Math.max(s.virtualSize, s.rawSize),
    );
    need(section !== undefined, `address 0x${rva.toString(16)} is in no section`);
    return section.rawOffset + (rva - section.virtualAddress);
  };
  const security = directory(directorySecurity);
  const resources = directory(directoryResource);

  const rcdata = (name: string): Buffer | undefined => {
    if (resources.address === 0) return undefined;
    const root = fileOffset(resources.address);
    // Entries of one resource directory: [id or name, offset of the data entry or subdirectory].
    const entries = (at: number) => {
      const named = file.readUInt16LE(at + 12);
      const ids = file.readUInt16LE(at + 14);
      const list: { id: number | string; offset: number; directory: boolean }[] = [];
      for (let i = 0; i < named + ids; i++) {
        const entry = at + 16 + i * 8;
        const nameField = file.readUInt32LE(entry);
        const dataField = file.readUInt32LE(entry + 4);
        let id: number | string = nameField;
        if (nameField & 0x80000000) {
          const string = root + (nameField & 0x7fffffff);
          const length = file.readUInt16LE(string);
          id = file.toString("utf16le", string + 2, string + 2 + length * 2);
        }
        list.push({ id, offset: root + (dataField & 0x7fffffff), directory: (dataField & 0x80000000) !== 0 });
      }
      return list;
    };
    const type = entries(root).find((entry) => entry.id === rtRcdata && entry.directory);
    if (!type) return undefined;
    const named = entries(type.offset).find((entry) => entry.id === name && entry.directory);
    if (!named) return undefined;
    const language = entries(named.offset)[0];
    if (!language || language.directory) return undefined;
    const dataAt = fileOffset(file.readUInt32LE(language.offset));
    const size = file.readUInt32LE(language.offset + 4);
    need(dataAt + size <= file.length, `resource ${name} runs past the end of the file`);
    return file.subarray(dataAt, dataAt + size);
  };

  return {
    machine,
    executable: (characteristics & 0x0002) !== 0 && (characteristics & 0x2000) === 0,
    subsystem,
    sections,
    certificates: { offset: security.address, size: security.size, entryOffset: security.entryOffset },
    rcdata,
  };
}

export function isX64Executable(image: PeImage): boolean {
  return image.machine === imageFileMachineAmd64 && image.executable;
}

/**
 * The image without its Authenticode signature: a resource added after signing breaks the signature, and Windows
 * treats a broken signature worse than none (Node's docs: remove it before injecting, sign the result again).
 */
export function withoutSignature(file: Buffer): Buffer {
  const { certificates } = parsePe(file);
  if (certificates.size === 0) return file;
  // The certificate table's address is a file offset (not an RVA) and it sits at the end of the file.
  need(certificates.offset + certificates.size === file.length, "certificate table is not at the end of the file");
  const stripped = Buffer.from(file.subarray(0, certificates.offset));
  stripped.writeUInt32LE(0, certificates.entryOffset);
  stripped.writeUInt32LE(0, certificates.entryOffset + 4);
  return stripped;
}
