export * from "./conflist.ts";
export * from "./env.ts";
export * from "./errors.ts";
export * from "./netconf.ts";
export * from "./result.ts";
export * from "./shape.ts";
export * from "./version.ts";
