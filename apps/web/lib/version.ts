import rootPackage from "../../../package.json" with { type: "json" };

export const e3Version: string = rootPackage.version;
